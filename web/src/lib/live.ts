// One WebSocket to /api/v1/ws for the whole app: topics are subscribed while a page listens, and
// again after a reconnect (back-off up to 10 s; the hub closes a socket when its token expires, and
// the next one carries a fresh token).
import {accessToken} from './api';

export interface Frame {
  type: string;
  topic?: string;
  [key: string]: unknown;
}

type Handler = (frame: Frame) => void;

const handlers = new Map<string, Set<Handler>>();
const statusListeners = new Set<(connected: boolean) => void>();
let socket: WebSocket | null = null;
let connecting = false;
let retryMs = 500;
let timer: number | undefined;

function dispatch(frame: Frame): void {
  // Event frames name the topic they were subscribed under; SUBSCRIBED and ERROR frames name it too.
  const targets = [...(frame.topic ? handlers.get(frame.topic) ?? [] : []), ...(handlers.get('*') ?? [])];
  for (const handler of targets) handler(frame);
}

async function connect(): Promise<void> {
  if (socket || connecting || handlers.size === 0) return;
  connecting = true;
  const token = await accessToken();
  connecting = false;
  if (!token || socket) return;
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${scheme}://${location.host}/api/v1/ws?token=${encodeURIComponent(token)}`);
  socket = ws;
  ws.onopen = () => {
    retryMs = 500;
    for (const topic of handlers.keys()) if (topic !== '*') ws.send(JSON.stringify({type: 'SUBSCRIBE', topic}));
    for (const listener of statusListeners) listener(true);
  };
  ws.onmessage = (event) => {
    try {
      dispatch(JSON.parse(String(event.data)) as Frame);
    } catch {
      // a frame that is not JSON is not ours
    }
  };
  ws.onclose = () => {
    socket = null;
    for (const listener of statusListeners) listener(false);
    if (handlers.size === 0) return;
    clearTimeout(timer);
    timer = window.setTimeout(() => void connect(), retryMs);
    retryMs = Math.min(retryMs * 2, 10_000);
  };
}

/// Listens to a topic ('*': every frame) until the returned function is called.
export function subscribe(topic: string, handler: Handler): () => void {
  let set = handlers.get(topic);
  if (!set) {
    set = new Set();
    handlers.set(topic, set);
    if (socket?.readyState === WebSocket.OPEN && topic !== '*') socket.send(JSON.stringify({type: 'SUBSCRIBE', topic}));
  }
  set.add(handler);
  void connect();
  return () => {
    set!.delete(handler);
    if (set!.size > 0) return;
    handlers.delete(topic);
    if (socket?.readyState === WebSocket.OPEN && topic !== '*') socket.send(JSON.stringify({type: 'UNSUBSCRIBE', topic}));
    if (handlers.size === 0) socket?.close(1000);
  };
}

/// Sends a frame when the socket is open; false when it is not.
export function send(frame: Frame): boolean {
  if (socket?.readyState !== WebSocket.OPEN) return false;
  socket.send(JSON.stringify(frame));
  return true;
}

export function onLiveStatus(listener: (connected: boolean) => void): () => void {
  statusListeners.add(listener);
  listener(socket?.readyState === WebSocket.OPEN);
  return () => statusListeners.delete(listener);
}

/// Closes the socket (signing out).
export function closeLive(): void {
  handlers.clear();
  socket?.close(1000);
}
