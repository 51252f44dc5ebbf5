"""The sync engine: snapshots in, a pure plan out, an executor that applies it, state in SQLite."""
