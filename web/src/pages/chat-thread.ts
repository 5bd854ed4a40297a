// A support conversation: its messages (older ones a keyset page at a time), new ones live over the
// WebSocket, "… is typing", read receipts, and attachments uploaded through a presigned URL. A
// message is sent with a client id of its own, so sending it again after a failure never stores
// it twice.
import {api, ApiProblem, type User} from '../lib/api';
import type {PageContext} from '../lib/app';
import {append, field, formatTime, h} from '../lib/dom';
import {onLiveStatus, send, subscribe, type Frame} from '../lib/live';
import {
  assigneeLabel, fileSize, isStaff, senderLabel, statusLabels, type Attachment, type Message, type Thread,
} from './chat-shared';

interface MessagePage {
  items: Message[];
  has_more: boolean;
}

interface Presigned {
  file_id: string;
  url: string;
  headers: Record<string, string>;
  storage: string;
}

interface FileInfo {
  download_url: string | null;
  storage: string;
}

const pageLimit = 30;
const typingEveryMs = 2000; // the server relays one TYPING per user and thread every 2 s
const typingShownMs = 4000;
// What the server accepts as a chat attachment (files module, purpose chat_attachment).
const attachmentTypes = ['image/jpeg', 'image/png', 'image/webp', 'image/heic', 'application/pdf', 'text/plain'];

/// A local-disk file URL is signed for motorpool's configured public address, which may not be the
/// address this page was loaded from (a proxy, another port): its path and signature are what
/// count, so it is sent to this origin. S3 URLs are used as they are.
function reachable(url: string, storage: string): string {
  if (storage !== 'local') return url;
  const u = new URL(url, location.origin);
  return u.pathname + u.search;
}

/// A random id for a message (crypto.randomUUID needs a secure context; this does not).
function clientId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/// Presign, PUT the bytes with the headers given, complete: the file's id, ready to attach.
async function upload(file: File): Promise<string> {
  const presigned = await api.post<Presigned>('/api/v1/files/presign', {
    filename: file.name, content_type: file.type, size_bytes: file.size, purpose: 'chat_attachment',
  });
  // No bearer token here: the signed URL is the authority (and S3 would refuse the extra header).
  const res = await fetch(reachable(presigned.url, presigned.storage),
    {method: 'PUT', headers: presigned.headers, body: file});
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    throw new ApiProblem(res.status, res.statusText, body.detail ?? `The upload failed (${res.status})`);
  }
  await api.post(`/api/v1/files/${presigned.file_id}/complete`);
  return presigned.file_id;
}

/// A link that fetches a fresh signed download URL when followed (they are short-lived).
function attachmentLink(a: Attachment, report: (text: string) => void): HTMLElement {
  const link = h('a', {href: `/api/v1/files/${a.id}`, 'data-external': true, class: 'attachment'},
    `${a.filename} (${fileSize(a.size_bytes)})`);
  link.addEventListener('click', async (event) => {
    event.preventDefault();
    try {
      const info = await api.get<FileInfo>(`/api/v1/files/${a.id}`);
      if (!info.download_url) throw new Error(`${a.filename} is not available for download yet`);
      location.assign(reachable(info.download_url, info.storage));
    } catch (e) {
      report((e as Error).message);
    }
  });
  return link;
}

interface Pending {
  clientMsgId: string;
  body: string;
  file: File | null;
  fileId: string | null;
  node: HTMLLIElement;
}

export default async function render(ctx: PageContext): Promise<void> {
  const me: User = ctx.user!;
  const staff = isStaff(me);
  const id = ctx.params.id;
  let thread: Thread;
  let first: MessagePage;
  try {
    [thread, first] = await Promise.all([
      api.get<Thread>(`/api/v1/chat/threads/${id}`),
      api.get<MessagePage>(`/api/v1/chat/threads/${id}/messages?limit=${pageLimit}`),
    ]);
  } catch (e) {
    if (!ctx.active()) return;
    if ((e as ApiProblem).status !== 404) throw e;
    ctx.title('Conversation not found');
    ctx.main.append(h('p', {}, 'There is no such conversation, or it is not yours. '),
      h('a', {href: '/support'}, 'Back to support'));
    return;
  }
  if (!ctx.active()) return;
  ctx.title(thread.subject);

  const messages: Message[] = [];
  const nodes = new Map<string, HTMLLIElement>();
  const pending = new Map<string, Pending>();
  let hasMore = first.has_more;
  let theirRead: string | null = null; // the other side's read position, as READ frames tell it

  const meta = h('p', {class: 'row'});
  const actions = h('div', {class: 'row'});
  const feedback = h('p', {role: 'status'});
  const actionError = h('p', {class: 'error', role: 'alert'});
  const older = h('button', {type: 'button', class: 'secondary'}, 'Load older messages');
  const list = h('ol', {class: 'messages', 'aria-live': 'polite', 'aria-relevant': 'additions',
    'aria-label': 'Messages', style: 'list-style: none; padding: 0; margin: 0; display: grid; gap: 0.6rem;'});
  // Messages on their way stay out of the live region: each is announced once, when stored.
  const outbox = h('ol', {'aria-label': 'Messages being sent',
    style: 'list-style: none; padding: 0; margin: 0.6rem 0 0; display: grid; gap: 0.6rem;'});
  const typing = h('p', {class: 'muted', role: 'status', style: 'min-height: 1.4em;'});

  const body = h('textarea', {name: 'body', rows: 3, maxlength: 4096});
  const fileInput = h('input', {type: 'file', name: 'file', accept: attachmentTypes.join(',')});
  const sendError = h('p', {class: 'error', role: 'alert'});
  const form = h('form', {'aria-labelledby': 'reply-h', style: 'max-width: 40rem;'},
    field('Message', body, 'Ctrl+Enter sends'),
    field('Attach a file (optional)', fileInput, 'A photo, PDF or text file, up to 10 MB'),
    h('div', {class: 'row'}, h('button', {type: 'submit'}, 'Send')), sendError);

  ctx.main.append(meta, actions, feedback, actionError,
    h('section', {'aria-labelledby': 'messages-h'}, h('h2', {id: 'messages-h'}, 'Messages'), older, list, outbox, typing),
    h('section', {'aria-labelledby': 'reply-h'}, h('h2', {id: 'reply-h'}, 'Reply'), form),
    h('p', {}, h('a', {href: '/support'}, staff ? 'Back to the inbox' : 'All your conversations')));

  function drawThread(): void {
    meta.replaceChildren();
    append(meta,
      h('span', {class: 'badge'}, statusLabels[thread.status]),
      staff ? h('span', {}, `Assigned to: ${assigneeLabel(thread, me)}`) : null,
      thread.vehicle_id ? h('a', {href: `/vehicles/${thread.vehicle_id}`}, 'The vehicle concerned') : null,
      h('span', {class: 'muted'}, `Opened ${formatTime(thread.created_at)}`));
    const buttons: HTMLButtonElement[] = [];
    if (staff && thread.assignee_id !== me.id) {
      buttons.push(actionButton('Assign to me', () => api.patch<Thread>(`/api/v1/chat/threads/${id}`,
        {assignee_id: me.id}), 'The conversation is assigned to you.'));
    }
    buttons.push(thread.status === 'closed'
      ? actionButton('Reopen', () => api.post<Thread>(`/api/v1/chat/threads/${id}/reopen`), 'The conversation is open again.')
      : actionButton('Close conversation', () => api.post<Thread>(`/api/v1/chat/threads/${id}/close`),
        'The conversation is closed; a new message reopens it.'));
    actions.replaceChildren(...buttons);
  }

  function actionButton(label: string, run: () => Promise<Thread>, done: string): HTMLButtonElement {
    const b = h('button', {type: 'button', class: 'secondary'}, label);
    b.addEventListener('click', async () => {
      b.disabled = true;
      actionError.textContent = '';
      try {
        const next = await run();
        if (!ctx.active()) return;
        thread = {...thread, ...next};
        feedback.textContent = done;
        drawThread();
        // The clicked button is gone: keep the keyboard focus among the actions.
        actions.querySelector('button')?.focus();
      } catch (e) {
        actionError.textContent = (e as Error).message;
        b.disabled = false;
      }
    });
    return b;
  }

  function messageNode(m: Message): HTMLLIElement {
    const mine = m.sender_id === me.id;
    return h('li', {class: 'card', 'data-message': m.id, style: mine ? 'margin-left: 10%;' : 'margin-right: 10%;'},
      h('p', {class: 'muted'}, h('strong', {}, senderLabel(m.sender_id, m.sender_role, me)), ' · ',
        h('time', {datetime: m.created_at}, formatTime(m.created_at))),
      h('p', {style: 'white-space: pre-wrap; overflow-wrap: anywhere; margin: 0.3rem 0;'}, m.body),
      m.attachments.length
        ? h('ul', {'aria-label': 'Attachments'},
          ...m.attachments.map((a) => h('li', {}, attachmentLink(a, (t) => { actionError.textContent = t; }))))
        : null,
      mine ? h('p', {class: 'muted receipt'}, 'Sent') : null);
  }

  /// Adds a message in id order (ids grow with time), once: the REST answer and the MESSAGE frame
  /// of the same message meet here.
  function add(m: Message): boolean {
    if (nodes.has(m.id)) return false;
    const node = messageNode(m);
    let at = messages.length;
    while (at > 0 && messages[at - 1].id > m.id) at--;
    messages.splice(at, 0, m);
    const after = messages[at + 1];
    list.insertBefore(node, after ? nodes.get(after.id)! : null);
    nodes.set(m.id, node);
    if (m.client_msg_id && pending.has(m.client_msg_id) && m.sender_id === me.id) {
      pending.get(m.client_msg_id)!.node.remove();
      pending.delete(m.client_msg_id);
    }
    return true;
  }

  /// "Seen" on my messages up to the other side's read position.
  function drawReceipts(): void {
    if (!theirRead) return;
    for (const m of messages) {
      if (m.sender_id !== me.id) continue;
      const receipt = nodes.get(m.id)?.querySelector('.receipt');
      if (receipt) receipt.textContent = m.id <= theirRead ? 'Seen' : 'Sent';
    }
  }

  for (const m of first.items) add(m);
  older.hidden = !hasMore;
  drawThread();

  older.addEventListener('click', async () => {
    older.disabled = true;
    try {
      const page = await api.get<MessagePage>(
        `/api/v1/chat/threads/${id}/messages?limit=${pageLimit}&before=${messages[0].id}`);
      if (!ctx.active()) return;
      for (const m of page.items) add(m);
      hasMore = page.has_more;
      older.hidden = !hasMore;
      drawReceipts();
    } catch (e) {
      actionError.textContent = (e as Error).message;
    }
    older.disabled = false;
  });

  // Read receipts: the latest message counts as read while this page is in front.
  let readTimer: number | undefined;
  function markRead(): void {
    if (document.visibilityState !== 'visible') return;
    clearTimeout(readTimer);
    readTimer = window.setTimeout(() => {
      void api.post(`/api/v1/chat/threads/${id}/read`).catch(() => undefined);
    }, 300);
  }
  const onVisible = () => markRead();
  document.addEventListener('visibilitychange', onVisible);
  ctx.cleanup(() => {
    clearTimeout(readTimer);
    document.removeEventListener('visibilitychange', onVisible);
  });
  markRead();

  // A message moves the thread's status (the server's rule: who spoke last) without a THREAD
  // frame: the thread is read again, once per burst.
  let threadTimer: number | undefined;
  ctx.cleanup(() => clearTimeout(threadTimer));
  function refreshThread(): void {
    clearTimeout(threadTimer);
    threadTimer = window.setTimeout(async () => {
      const next = await api.get<Thread>(`/api/v1/chat/threads/${id}`).catch(() => null);
      if (!next || !ctx.active()) return;
      thread = next;
      drawThread();
    }, 300);
  }

  // The other side's typing shows for a few seconds after each TYPING frame.
  let typingTimer: number | undefined;
  ctx.cleanup(() => clearTimeout(typingTimer));
  function showTyping(frame: Frame): void {
    if (frame.user_id === me.id) return;
    typing.textContent = `${senderLabel(String(frame.user_id), String(frame.role), me)} is typing…`;
    clearTimeout(typingTimer);
    typingTimer = window.setTimeout(() => { typing.textContent = ''; }, typingShownMs);
  }

  ctx.cleanup(subscribe(`chat.thread.${id}`, (frame) => {
    if (frame.type === 'MESSAGE') {
      const m = frame as unknown as Message;
      if (add(m) && m.sender_id !== me.id) {
        typing.textContent = '';
        markRead();
      }
      drawReceipts();
      refreshThread();
    } else if (frame.type === 'THREAD' && frame.id === id) {
      // Status and assignee changes.
      const next = frame as unknown as Thread;
      thread = {...thread, ...next, read_message_id: thread.read_message_id, unread_count: thread.unread_count};
      drawThread();
    } else if (frame.type === 'TYPING') {
      showTyping(frame);
    } else if (frame.type === 'READ' && frame.user_id !== me.id && typeof frame.message_id === 'string') {
      if (!theirRead || frame.message_id > theirRead) theirRead = frame.message_id;
      drawReceipts();
    }
  }));
  // After a reconnect, what was said meanwhile.
  let wasConnected = true;
  ctx.cleanup(onLiveStatus((connected) => {
    if (connected && !wasConnected) {
      const last = messages[messages.length - 1];
      void api.get<MessagePage>(`/api/v1/chat/threads/${id}/messages?limit=200${last ? `&after=${last.id}` : ''}`)
        .then((page) => {
          if (!ctx.active()) return;
          for (const m of page.items) add(m);
          drawReceipts();
        }).catch(() => undefined);
    }
    wasConnected = connected;
  }));

  // Typing: at most one TYPING frame per interval, only while the user actually types.
  let lastTyping = 0;
  body.addEventListener('input', () => {
    if (!body.value.trim() || Date.now() - lastTyping < typingEveryMs) return;
    if (send({type: 'TYPING', thread_id: id})) lastTyping = Date.now();
  });
  body.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  function pendingNode(p: Pending): HTMLLIElement {
    return h('li', {class: 'card', style: 'margin-left: 10%;'},
      h('p', {class: 'muted'}, h('strong', {}, 'You')),
      h('p', {style: 'white-space: pre-wrap; overflow-wrap: anywhere; margin: 0.3rem 0;'}, p.body),
      p.file ? h('p', {class: 'muted'}, `Attaching ${p.file.name} (${fileSize(p.file.size)})`) : null,
      h('p', {class: 'muted receipt'}, 'Sending…'));
  }

  async function deliver(p: Pending): Promise<void> {
    const receipt = p.node.querySelector('.receipt')!;
    receipt.replaceChildren('Sending…');
    sendError.textContent = '';
    try {
      // An upload done on an earlier try is reused: only the message is sent again.
      if (p.file && !p.fileId) p.fileId = await upload(p.file);
      const stored = await api.post<Message>(`/api/v1/chat/threads/${id}/messages`, {
        ...(p.body ? {body: p.body} : {}), attachments: p.fileId ? [p.fileId] : [], client_msg_id: p.clientMsgId,
      });
      if (!ctx.active()) return;
      add(stored);
      drawReceipts();
    } catch (e) {
      if (!ctx.active()) return;
      const problem = e as ApiProblem;
      sendError.textContent = `Not sent: ${problem.errors?.length
        ? problem.errors.map((x) => `${x.field}: ${x.message}`).join('; ') : problem.message}`;
      const retry = h('button', {type: 'button', class: 'secondary'}, 'Send again');
      retry.addEventListener('click', () => void deliver(p));
      receipt.replaceChildren('Not sent. ', retry);
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    sendError.textContent = '';
    const file = fileInput.files?.[0] ?? null;
    if (file && !attachmentTypes.includes(file.type)) {
      sendError.textContent = `${file.name} cannot be attached: only photos (JPEG, PNG, WebP, HEIC), PDF and text files.`;
      return;
    }
    if (file && file.size > 10 * 1024 * 1024) {
      sendError.textContent = `${file.name} is larger than 10 MB.`;
      return;
    }
    // Words, a file, or both (a file alone is a message too).
    const text = body.value.trim() ? body.value : '';
    if (!text && !file) {
      sendError.textContent = 'Write a message or choose a file first.';
      body.focus();
      return;
    }
    const p: Pending = {clientMsgId: clientId(), body: text, file, fileId: null, node: document.createElement('li')};
    p.node = pendingNode(p);
    pending.set(p.clientMsgId, p);
    outbox.append(p.node);
    body.value = '';
    fileInput.value = '';
    lastTyping = 0;
    void deliver(p);
  });
}
