/**
 * Lambda entry point for the image bucket's ObjectCreated:Put notifications under
 * `image-uploads/`: image data the public front put there is checked against its image, hashed
 * and copied to `images/<id>`, and the image becomes active. The logic lives with the image API
 * it completes.
 */
export { handleImageDataArrival as handler } from '../api/image/image-data-arrival.js';
