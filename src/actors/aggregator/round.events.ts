/**
 * The round actor's commands and events. Events are journaled (codecs below are the source of truth);
 * commands are in-process messages built by round.actor.ts, carrying the time they were issued (`now`), so
 * the decider never reads the clock.
 */
import * as t from 'io-ts';
import { EpochMillis, NonEmptyString, NonNegativeInt, PositiveInt, Sha256Hex } from '../../protocols/codec';
import { LayerShape } from '../../protocols/weights';
import { StrategyConfig } from '../../protocols/models';

export const RejectionReason = t.keyof({
  'no-open-round': null,
  'unknown-round': null,
  'closed-round': null,
  'stale-base-version': null,
  'duplicate-update': null,
  'client-already-counted': null,
  'wrong-shape': null,
  'non-finite-weights': null,
  'oversized-payload': null,
});
export type RejectionReason = t.TypeOf<typeof RejectionReason>;

export const UsedUpdate = t.type({ clientId: NonEmptyString, updateId: NonEmptyString, hash: Sha256Hex, sampleCount: PositiveInt });
export type UsedUpdate = t.TypeOf<typeof UsedUpdate>;

export const ModelInitialised = t.type({ type: t.literal('ModelInitialised'), version: NonNegativeInt, hash: Sha256Hex, layers: t.array(LayerShape), seed: t.number, at: EpochMillis });
export const RoundOpened = t.type({ type: t.literal('RoundOpened'), round: PositiveInt, baseVersion: NonNegativeInt, quorum: PositiveInt, minUpdates: PositiveInt, deadline: EpochMillis, openedAt: EpochMillis });
export const UpdateAccepted = t.type({ type: t.literal('UpdateAccepted'), round: PositiveInt, clientId: NonEmptyString, updateId: NonEmptyString, hash: Sha256Hex, sampleCount: PositiveInt, receivedAt: EpochMillis });
export const UpdateRejected = t.type({ type: t.literal('UpdateRejected'), round: t.union([NonNegativeInt, t.null]), claimedRound: NonNegativeInt, clientId: NonEmptyString, updateId: NonEmptyString, reason: RejectionReason, detail: t.string, receivedAt: EpochMillis });
export const RoundClosed = t.type({ type: t.literal('RoundClosed'), round: PositiveInt, reason: t.keyof({ quorum: null, deadline: null }), accepted: NonNegativeInt, closedAt: EpochMillis });
export const RoundAbandoned = t.type({ type: t.literal('RoundAbandoned'), round: PositiveInt, reason: t.string, accepted: NonNegativeInt, closedAt: EpochMillis });
export const ModelAggregated = t.type({ type: t.literal('ModelAggregated'), round: PositiveInt, version: PositiveInt, parentVersion: NonNegativeInt, hash: Sha256Hex, strategy: StrategyConfig, updates: t.array(UsedUpdate), createdAt: EpochMillis });
export const ModelPublished = t.type({ type: t.literal('ModelPublished'), version: NonNegativeInt, publishedAt: EpochMillis });

export const RoundEvent = t.union([ModelInitialised, RoundOpened, UpdateAccepted, UpdateRejected, RoundClosed, RoundAbandoned, ModelAggregated, ModelPublished], 'RoundEvent');
export type RoundEvent = t.TypeOf<typeof RoundEvent>;
export type EventOf<T extends RoundEvent['type']> = Extract<RoundEvent, { type: T }>;

/** What the wiring learned about an incoming update before the decider sees it (hash, shape, finiteness, size). */
export interface UpdateFacts {
  clientId: string;
  updateId: string;
  round: number;
  baseVersion: number;
  sampleCount: number;
  layers: ReadonlyArray<{ name: string; shape: readonly number[] }>;
  hash: string;
  nonFiniteCount: number;
  payloadBytes: number;
}

export type RoundCommand =
  | { type: 'Initialise'; hash: string; layers: LayerShape[]; seed: number; now: number }
  | { type: 'OpenRound'; now: number }
  | { type: 'SubmitUpdate'; update: UpdateFacts; now: number }
  | { type: 'DeadlineReached'; round: number; now: number }
  | { type: 'RecordAggregate'; round: number; hash: string; now: number }
  | { type: 'ConfirmPublished'; version: number; now: number };
