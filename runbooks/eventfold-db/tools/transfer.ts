// How long one attempt of an object transfer may take: 2 minutes plus 2 s per MiB, i.e. it
// assumes the link moves at least 512 KiB/s. Finite for any size, and a first full backup or a
// restore of a large segment over a slow link is not killed at a fixed 2 minutes and retried
// from zero forever.
export const MIN_TRANSFER_RATE = 512 * 1024; // bytes per second
export const transferTimeoutMs = (bytes: number) => 120_000 + Math.ceil((bytes / MIN_TRANSFER_RATE) * 1000);
