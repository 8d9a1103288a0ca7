/** Kept in step with package.json by a unit test; read without loading JSON at start-up. */
export const VERSION = '0.1.0';
