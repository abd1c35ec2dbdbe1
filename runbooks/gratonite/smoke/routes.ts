// The Gratonite API routes and realtime events the checks use, in one place. Health and the files
// route are the upstream API's (apps.md); the rest follow its REST shape under /api/v1 and its
// Socket.IO gateway on the same origin (token in the handshake's auth, MESSAGE_CREATE events).
export const ROUTES = {
  health: '/health',
  register: '/api/v1/auth/register',
  login: '/api/v1/auth/login',
  me: '/api/v1/users/@me',
  dmChannels: '/api/v1/users/@me/channels',
  messages: (channelId: string) => `/api/v1/channels/${encodeURIComponent(channelId)}/messages`,
  upload: '/api/v1/files/upload',
  file: (id: string) => `/api/v1/files/${encodeURIComponent(id)}`,
};

export const EVENTS = { messageCreate: 'MESSAGE_CREATE' };

export interface AuthAnswer {
  accessToken: string;
  user: { id: string; username: string };
}

export interface UploadAnswer {
  /** The pending upload's id (no dot): private, needs auth. */
  id: string;
  /** The public name `<sha256>.<ext>` (a dot): served without auth. */
  hash: string;
  url: string;
}

export interface MessageEvent {
  id: string;
  channelId: string;
  content: string;
  authorId: string;
  attachments?: { id: string; url: string }[];
}
