/**
 * Replay of a trainer's device actors (see runtime/replay.ts). A device's evolve depends on two of the
 * trainer's settings (TRAIN_WINDOW: the readings kept; ZSCORE_*: the detector's initial state), so replay reads
 * the same configuration as the trainer it rebuilds. The state is the device's summary, as `/actors/<service>/device-<id>` shows it.
 */
import type { Config } from '../../config';
import type { Journal } from '../../infra/journal/port';
import { decodeOrThrow } from '../runtime/decode';
import { actorIds, replayKey, type Replayed, type Until } from '../runtime/replay';
import { deviceDecider } from './device.decider';
import { DeviceEvent } from './device.events';
import { deviceActorName, deviceKeyPrefix, deviceSettings, deviceSummary } from './device.state';

export const decodeDeviceEvent = (data: unknown): DeviceEvent => decodeOrThrow(DeviceEvent, data);

export type DeviceSummary = ReturnType<typeof deviceSummary>;

/** Every device with events in the journal (sorted by id), or the one asked for. */
export async function replayDevices(journal: Journal, config: Config, service: string, opts: Until & { deviceId?: string } = {}): Promise<Array<Replayed<DeviceSummary>>> {
  const prefix = deviceKeyPrefix(service);
  const out: Array<Replayed<DeviceSummary>> = [];
  for (const id of await actorIds(journal, prefix, opts.deviceId)) {
    const decider = deviceDecider(deviceSettings(config, id));
    const r = await replayKey(journal, `${prefix}${id}`, decider.initialState, decider.evolve, decodeDeviceEvent, opts);
    out.push({ key: `${prefix}${id}`, path: `${service}/${deviceActorName(id)}`, ...r, state: deviceSummary(r.state) });
  }
  return out;
}
