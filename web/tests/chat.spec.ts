// Support chat between a member and a support agent, each in a browser context of their own: the
// member opens a conversation, it appears in the agent's inbox live, the agent takes it, types (the
// member sees "Support is typing…"), answers (it appears on the member's page without a reload and
// is marked seen), the member replies with a text file attached, the agent downloads it, and the
// agent closes the conversation (the member's page follows). The server's records are checked too.
import {expect, test} from '@playwright/test';

import {call, login, password, screenshots, seriousViolations, signIn, startServer, type Server} from './motorpool';

const member = 'member@chat.test';
const agent = 'agent@chat.test';
let server: Server;

test.beforeAll(async () => {
  server = await startServer([{email: member, role: 'member', password}, {email: agent, role: 'support', password}]);
});

test.afterAll(async () => {
  await server?.stop();
});

test('a member and support chat live, with typing, read receipts and an attachment', async ({browser}) => {
  const memberContext = await browser.newContext({viewport: {width: 1280, height: 800}});
  const agentContext = await browser.newContext({viewport: {width: 1280, height: 800}, acceptDownloads: true});
  const m = await memberContext.newPage();
  const s = await agentContext.newPage();

  // The agent watches the inbox before anything arrives.
  await signIn(s, server.base, agent);
  await s.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Support'}).click();
  await expect(s.getByRole('heading', {level: 1, name: 'Support inbox'})).toBeVisible();
  await expect(s.getByText('No conversations yet.')).toBeVisible();
  await expect(s.locator('.live-status')).toHaveText('● live');

  // The member opens a conversation.
  await signIn(m, server.base, member);
  await m.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Support'}).click();
  await expect(m.getByRole('heading', {level: 1, name: 'Support'})).toBeVisible();
  await expect(m.getByText('You have no conversations yet.')).toBeVisible();
  expect(await seriousViolations(m)).toEqual([]);
  await screenshots(m, 'support-member');
  await m.getByLabel('Subject').fill('Charging cable stuck');
  await m.getByLabel('Message').fill('The cable will not unlock from the car after charging.');
  await m.getByRole('button', {name: 'Start conversation'}).click();
  await expect(m.getByRole('heading', {level: 1, name: 'Charging cable stuck'})).toBeVisible();
  const threadId = new URL(m.url()).pathname.split('/').pop()!;
  const memberMessages = m.getByRole('list', {name: 'Messages', exact: true});
  await expect(memberMessages.locator(':scope > li')).toHaveCount(1);
  await expect(memberMessages).toContainText('The cable will not unlock from the car after charging.');
  await expect(m.getByText('Open', {exact: true})).toBeVisible();

  // It appears in the agent's inbox without a reload, unassigned, with its unread message.
  const row = s.getByRole('row', {name: /Charging cable stuck/});
  await expect(row).toBeVisible();
  await expect(row.getByRole('cell', {name: 'Unassigned'})).toBeVisible();
  await expect(row.getByRole('cell', {name: '1 new'})).toBeVisible();
  expect(await seriousViolations(s)).toEqual([]);
  await screenshots(s, 'support-inbox');
  await row.getByRole('button', {name: 'Assign to me: Charging cable stuck'}).click();
  await expect(s.getByText('"Charging cable stuck" is assigned to you.')).toBeVisible();
  await expect(row.getByRole('cell', {name: 'You', exact: true})).toBeVisible();
  await s.getByLabel('Assigned to').selectOption('me');
  await expect(s.getByRole('row', {name: /Charging cable stuck/})).toBeVisible();
  await s.getByLabel('Assigned to').selectOption('none');
  await expect(s.getByText('No conversation matches these filters.')).toBeVisible();
  await s.getByLabel('Assigned to').selectOption('');

  // The agent opens it and starts typing: the member sees it.
  await s.getByRole('link', {name: 'Charging cable stuck'}).click();
  await expect(s.getByRole('heading', {level: 1, name: 'Charging cable stuck'})).toBeVisible();
  await expect(s.getByText('Assigned to: You')).toBeVisible();
  const agentMessages = s.getByRole('list', {name: 'Messages', exact: true});
  await expect(agentMessages).toContainText('Member');
  await expect(agentMessages).toContainText('The cable will not unlock from the car after charging.');
  await expect(m.locator('.live-status')).toHaveText('● live');
  const agentBox = s.getByRole('textbox', {name: /^Message/});
  // TYPING goes out at most every 2 s while there is text; keep typing until the member sees it.
  await expect(async () => {
    await agentBox.pressSequentially('Hi', {delay: 50});
    await expect(m.getByText('Support is typing…')).toBeVisible({timeout: 2500});
  }).toPass({timeout: 20_000});

  // The answer arrives on the member's page without a reload; the member's page marks it read,
  // and the agent sees "Seen" under it.
  await agentBox.fill('Hold the unlock button on the key for three seconds, then pull the cable.');
  await s.getByRole('button', {name: 'Send'}).click();
  await expect(agentMessages.locator(':scope > li')).toHaveCount(2);
  await expect(memberMessages.locator(':scope > li')).toHaveCount(2);
  const answer = memberMessages.locator(':scope > li').nth(1);
  await expect(answer).toContainText('Support');
  await expect(answer).toContainText('Hold the unlock button on the key for three seconds, then pull the cable.');
  await expect(m.getByText('Support is typing…')).toHaveCount(0);
  await expect(m.getByText('Waiting on member', {exact: true})).toBeVisible();
  await expect(agentMessages.locator(':scope > li').nth(1).locator('.receipt')).toHaveText('Seen');

  // The member replies with a text file attached.
  await m.getByRole('textbox', {name: /^Message/}).fill('That worked, thanks. Here is the charging receipt.');
  await m.getByLabel('Attach a file (optional)').setInputFiles(
    {name: 'receipt.txt', mimeType: 'text/plain', buffer: Buffer.from('Receipt 42: 31.5 kWh\n')});
  await m.getByRole('button', {name: 'Send'}).click();
  await expect(memberMessages.locator(':scope > li')).toHaveCount(3);
  await expect(memberMessages.getByRole('link', {name: 'receipt.txt (21 B)'})).toBeVisible();
  expect(await seriousViolations(m)).toEqual([]);
  await screenshots(m, 'support-thread-member');

  // The agent sees it with the attachment, and the link downloads the very bytes.
  await expect(agentMessages.locator(':scope > li')).toHaveCount(3);
  await expect(agentMessages.locator(':scope > li').nth(2)).toContainText('That worked, thanks. Here is the charging receipt.');
  const link = agentMessages.getByRole('link', {name: 'receipt.txt (21 B)'});
  await expect(link).toBeVisible();
  const [download] = await Promise.all([s.waitForEvent('download'), link.click()]);
  expect(download.suggestedFilename()).toBe('receipt.txt');
  const stream = await download.createReadStream();
  let downloaded = '';
  for await (const chunk of stream) downloaded += chunk;
  expect(downloaded).toBe('Receipt 42: 31.5 kWh\n');
  expect(await seriousViolations(s)).toEqual([]);
  await screenshots(s, 'support-thread');

  // Closing it: the member's page follows.
  await s.getByRole('button', {name: 'Close conversation'}).click();
  await expect(s.getByText('The conversation is closed; a new message reopens it.')).toBeVisible();
  await expect(m.getByText('Closed', {exact: true})).toBeVisible();
  await expect(m.getByRole('button', {name: 'Reopen'})).toBeVisible();

  // What the server stored: three messages, each once, the UI's with their client ids, the file attached.
  const token = await login(server.base, agent);
  const stored = await call(server.base, 'GET', `/api/v1/chat/threads/${threadId}/messages`, token);
  expect(stored.status).toBe(200);
  expect(stored.body.items.map((x: {body: string}) => x.body)).toEqual([
    'The cable will not unlock from the car after charging.',
    'Hold the unlock button on the key for three seconds, then pull the cable.',
    'That worked, thanks. Here is the charging receipt.',
  ]);
  expect(stored.body.items.map((x: {sender_role: string}) => x.sender_role)).toEqual(['member', 'support', 'member']);
  expect(stored.body.items[1].client_msg_id).toMatch(/^[0-9a-f]{32}$/);
  expect(stored.body.items[2].attachments).toEqual([
    expect.objectContaining({filename: 'receipt.txt', content_type: 'text/plain', size_bytes: 21}),
  ]);
  const thread = await call(server.base, 'GET', `/api/v1/chat/threads/${threadId}`, token);
  expect(thread.body.status).toBe('closed');
  const me = await call(server.base, 'GET', '/api/v1/me', token);
  expect(thread.body.assignee_id).toBe(me.body.id);

  await memberContext.close();
  await agentContext.close();
});
