/** Creating a service's topics at start-up, with a warning for each one that exists with other partitions. */
import { partitionsKept } from '../../protocols/topics';
import type { Logger } from '../log';
import type { Bus } from './port';

/** Bus.ensureTopics, then one warning per topic that keeps another partition count than asked for. */
export async function ensureTopicsWarned(bus: Bus, asked: ReadonlyArray<{ topic: string; partitions: number; compacted?: boolean }>, log: Logger): Promise<void> {
  for (const sentence of partitionsKept(asked, await bus.ensureTopics(asked))) log.warn(sentence);
}
