/**
 * Cursors are opaque to clients: a position signed by the deployment (store/cursors.ts). Bounded
 * here so the contract refuses an oversized one before anything decodes it; a real cursor is a
 * few hundred characters at most (a sort key, its signature, base64url).
 */
export const MAX_CURSOR_LENGTH = 512;
