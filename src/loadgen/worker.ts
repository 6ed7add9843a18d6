// The Piscina task of one load thread: runs its share of the load (load-thread.ts) and
// reports on the task's control port. Nothing comes back through the task's own result.
import { LoadThread } from './load-thread.js';
import type { ThreadTask } from './messages.js';

export default async function runLoadThread(task: ThreadTask): Promise<null> {
  await new LoadThread(task.thread, task.plan, task.port).run();
  return null;
}
