/**
 * Lambda entry point for the image bucket's ObjectCreated:Put notifications: image data that a
 * client uploaded straight to S3 (through the API's presigned redirect) is hashed and checked,
 * and the image becomes active. The logic lives with the image API it completes.
 */
export { handleImageDataArrival as handler } from '../api/image/image-data-arrival.js';
