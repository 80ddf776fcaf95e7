/**
 * segment-arena: shared, bounded, isolated memory for Node.js worker threads.
 *
 * The public surface, re-exported explicitly (DESIGN.md §2, §4).
 * @packageDocumentation
 */
export { Arena, type GrowEventDetail, type LeakEventDetail, type PressureEventDetail } from './core/arena.js';
export type { ArenaDescriptor } from './core/arena-core.js';
export { Lease, type LeaseDescriptor, type AllocateAsyncOptions } from './core/lease.js';
export { MemorySegment, type TypedArrayConstructor } from './core/segment.js';
export type { ArenaStats, AuditReport, LeaseStats } from './core/audit.js';
export type { ActivityCounts } from './core/counters.js';
export { ArenaError, ERROR_CODES, isArenaError, type ArenaErrorCode } from './errors.js';
export { parseByteSize, type ArenaOptions, type ByteSize, type LeaseOptions } from './options.js';
export { TaskManager, type CloseReport } from './pool/task-manager.js';
export type { Actor, ActorControls } from './pool/actor.js';
export type { TaskContext, TaskFunction, ActorFactory } from './pool/task-context.js';
export type { SlotStats, TaskManagerStats } from './pool/slot-stats.js';
export type { TaskManagerOptions, RunOptions, SpawnOptions, ResolvedTaskManagerOptions } from './options.js';
export { collectMetrics, type MetricsSources, type MetricsOptions, type MetricsHandle } from './pool/metrics.js';
export { PagedWriter, type PagedData, type SegmentSource } from './views/paged-writer.js';
export { PagedReader, type Page, type PageSource, type PagedReaderOptions } from './views/paged-reader.js';
