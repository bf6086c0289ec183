export {
  DEFAULT_CHUNK_BYTES,
  MultiHasher,
  hashFile,
  type Algorithm,
  type Digests,
  type HashFileOptions,
} from "./digests.js";
export {
  ChecksumListError,
  formatChecksumList,
  parseChecksumList,
  type ChecksumEntry,
} from "./md5sum-list.js";
export { HashPool, PooledHash } from "./hash-pool.js";
