// What the support list and a conversation share: the API's shapes and how statuses and people
// are named (the API gives ids and roles, not names, of the other side).
import type {User} from '../lib/api';

export interface Thread {
  id: string;
  member_id: string;
  subject: string;
  status: 'open' | 'waiting_on_member' | 'closed';
  assignee_id: string | null;
  vehicle_id: string | null;
  appointment_id: string | null;
  created_at: string;
  updated_at: string;
  last_message_at: string | null;
  read_message_id: string | null;
  unread_count: number;
}

export interface Attachment {
  id: string;
  filename: string;
  content_type: string;
  size_bytes: number;
}

export interface Message {
  id: string;
  thread_id: string;
  sender_id: string | null;
  sender_role: User['role'];
  body: string;
  attachments: Attachment[];
  client_msg_id: string | null;
  created_at: string;
}

export const statusLabels: Record<Thread['status'], string> = {
  open: 'Open',
  waiting_on_member: 'Waiting on member',
  closed: 'Closed',
};

/// Who answers threads (the server's is_staff): support and admins.
export function isStaff(user: User | null): boolean {
  return user?.role === 'support' || user?.role === 'admin';
}

export function assigneeLabel(thread: Thread, me: User): string {
  if (!thread.assignee_id) return 'Unassigned';
  return thread.assignee_id === me.id ? 'You' : 'Another agent';
}

/// The name a sender goes by in a conversation.
export function senderLabel(senderId: string | null, role: string, me: User): string {
  if (senderId === me.id) return 'You';
  if (role === 'support') return 'Support';
  if (role === 'admin') return 'Support (admin)';
  return 'Member';
}

export function fileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
