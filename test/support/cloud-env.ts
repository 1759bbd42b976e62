/**
 * Import this FIRST in a suite that calls handlers in-process: it points the AWS SDK, the
 * handlers' config and the log level at the shared cloud before any product module is loaded
 * (the logger reads LOG_LEVEL when it is imported).
 */
import { useCloudEnvironment } from './cloud.js';

useCloudEnvironment();
