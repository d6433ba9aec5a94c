/**
 * The rule for room and identity names. It lives with the browser code
 * (control/web/names.ts, served as /names.js) so that the demo page checks a
 * name exactly as the node does, before it sends anything.
 */
export { MAX_NAME_LENGTH, NAME_PATTERN, nameProblem } from '../web/names.js';
