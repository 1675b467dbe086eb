// BuildError lives with the other errors in lib/errors.ts; builder files import it from here.
export { BuildError } from '../lib/errors.js';
