//! The in-process tier: a bounded map from cache key to answer with a per-entry expiry.
//!
//! Owns eviction (expired entries first, then the oldest insertions). It never performs I/O.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::entry::Entry;

/// A bounded in-memory map with expiry.
#[derive(Debug)]
pub(crate) struct MemoryTier {
    /// Most entries held at once; 0 disables the tier.
    capacity: usize,
    /// The entries and their insertion order.
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Key → entry and its insertion sequence number.
    entries: HashMap<String, (Entry, u64)>,
    /// Insertion sequence number → key, oldest first.
    order: BTreeMap<u64, String>,
    /// The next sequence number.
    next: u64,
}

impl State {
    fn remove(&mut self, key: &str) {
        if let Some((_, seq)) = self.entries.remove(key) {
            self.order.remove(&seq);
        }
    }

    /// Drops every entry that has expired at `now_ms`.
    fn purge_expired(&mut self, now_ms: u64) {
        let order = &mut self.order;
        self.entries.retain(|_, (entry, seq)| {
            let live = entry.expires_at_ms > now_ms;
            if !live {
                order.remove(seq);
            }
            live
        });
    }
}

impl MemoryTier {
    /// An empty tier holding at most `capacity` entries.
    pub(crate) fn new(capacity: usize) -> Self {
        Self { capacity, state: Mutex::new(State::default()) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The map stays consistent even if a holder panicked: every mutation completes under the lock.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The live entry for `key`, if any; an expired one is dropped.
    pub(crate) fn get(&self, key: &str, now_ms: u64) -> Option<Entry> {
        let mut state = self.state();
        match state.entries.get(key) {
            Some((entry, _)) if entry.expires_at_ms > now_ms => Some(entry.clone()),
            Some(_) => {
                state.remove(key);
                None
            }
            None => None,
        }
    }

    /// Stores `entry` under `key`, evicting expired entries and then the oldest ones when full.
    pub(crate) fn insert(&self, key: &str, entry: Entry, now_ms: u64) {
        if self.capacity == 0 || entry.expires_at_ms <= now_ms {
            return;
        }
        let mut state = self.state();
        state.remove(key);
        if state.entries.len() >= self.capacity {
            state.purge_expired(now_ms);
        }
        while state.entries.len() >= self.capacity {
            let Some((_, oldest)) = state.order.pop_first() else { break };
            state.entries.remove(&oldest);
        }
        let seq = state.next;
        state.next += 1;
        state.order.insert(seq, key.to_owned());
        state.entries.insert(key.to_owned(), (entry, seq));
    }

    /// How many live entries the tier holds.
    pub(crate) fn len(&self, now_ms: u64) -> usize {
        let mut state = self.state();
        state.purge_expired(now_ms);
        state.entries.len()
    }

    /// Drops every entry; returns how many there were.
    pub(crate) fn clear(&self) -> usize {
        let mut state = self.state();
        let count = state.entries.len();
        state.entries.clear();
        state.order.clear();
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Digest;
    use crate::registry::Resolved;

    fn entry(expires_at_ms: u64) -> Entry {
        Entry {
            resolved: Resolved {
                digest: Digest::parse(&format!("sha256:{}", "a".repeat(64))).unwrap(),
                media_type: "application/vnd.oci.image.manifest.v1+json".to_owned(),
            },
            expires_at_ms,
        }
    }

    #[test]
    fn hit_until_expiry() {
        let tier = MemoryTier::new(10);
        tier.insert("k", entry(100), 0);
        assert_eq!(tier.get("k", 99), Some(entry(100)));
        assert_eq!(tier.get("k", 100), None);
        assert_eq!(tier.len(0), 0, "the expired entry was dropped on read");
    }

    #[test]
    fn full_tier_evicts_the_oldest() {
        let tier = MemoryTier::new(2);
        tier.insert("a", entry(100), 0);
        tier.insert("b", entry(100), 0);
        tier.insert("c", entry(100), 0);
        assert_eq!(tier.get("a", 1), None);
        assert!(tier.get("b", 1).is_some() && tier.get("c", 1).is_some());
    }

    #[test]
    fn full_tier_evicts_expired_entries_before_old_ones() {
        let tier = MemoryTier::new(2);
        tier.insert("old", entry(1_000), 0);
        tier.insert("short", entry(10), 0);
        tier.insert("new", entry(1_000), 20);
        assert!(tier.get("old", 20).is_some(), "the oldest live entry stays");
        assert!(tier.get("new", 20).is_some());
        assert_eq!(tier.len(20), 2);
    }

    #[test]
    fn replacing_a_key_refreshes_its_age() {
        let tier = MemoryTier::new(2);
        tier.insert("a", entry(100), 0);
        tier.insert("b", entry(100), 0);
        tier.insert("a", entry(200), 0);
        tier.insert("c", entry(100), 0);
        assert_eq!(tier.get("b", 1), None);
        assert_eq!(tier.get("a", 1), Some(entry(200)));
    }

    #[test]
    fn zero_capacity_disables_the_tier() {
        let tier = MemoryTier::new(0);
        tier.insert("a", entry(100), 0);
        assert_eq!(tier.get("a", 1), None);
    }

    #[test]
    fn clear_counts_what_it_dropped() {
        let tier = MemoryTier::new(10);
        tier.insert("a", entry(100), 0);
        tier.insert("b", entry(100), 0);
        assert_eq!(tier.clear(), 2);
        assert_eq!(tier.len(0), 0);
    }
}
