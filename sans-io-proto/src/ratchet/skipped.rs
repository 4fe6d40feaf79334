//! Message keys of skipped messages, kept for out-of-order delivery (Double Ratchet spec §3.5 and
//! §4 `MKSKIPPED`, keyed by header key and message number), with hard bounds (PROTOCOL.md §6.5).

use std::collections::{BTreeMap, VecDeque};

use super::header_key::HeaderKey;
use super::message_key::MessageKey;
use super::{MAX_SKIPPED_CHAINS, MAX_STORED_SKIPPED};

/// Stored keys of one receiving chain.
#[derive(Clone)]
pub(crate) struct SkippedChain {
    pub(crate) header_key: HeaderKey,
    keys: BTreeMap<u32, MessageKey>,
}

/// All stored skipped keys, oldest chain first.
#[derive(Clone, Default)]
pub(crate) struct SkippedKeys {
    chains: VecDeque<SkippedChain>,
}

impl SkippedKeys {
    /// Number of stored keys.
    pub(crate) fn len(&self) -> usize {
        self.chains.iter().map(|c| c.keys.len()).sum()
    }

    /// The header keys of the chains with stored keys, oldest first.
    pub(crate) fn header_keys(&self) -> impl Iterator<Item = &HeaderKey> {
        self.chains.iter().map(|c| &c.header_key)
    }

    /// The key for message `n` of the chain sealed under `hk`, if stored (not removed).
    pub(crate) fn get(&self, hk: &HeaderKey, n: u32) -> Option<&MessageKey> {
        self.chains
            .iter()
            .find(|c| &c.header_key == hk)
            .and_then(|c| c.keys.get(&n))
    }

    /// Deletes a used key (the spec deletes a skipped key as soon as it decrypted its message).
    pub(crate) fn remove(&mut self, hk: &HeaderKey, n: u32) {
        if let Some(pos) = self.chains.iter().position(|c| &c.header_key == hk)
            && let Some(chain) = self.chains.get_mut(pos)
        {
            chain.keys.remove(&n);
            if chain.keys.is_empty() {
                self.chains.remove(pos);
            }
        }
    }

    /// Stores keys of chain `hk`, then evicts the oldest chains and keys beyond the bounds.
    pub(crate) fn insert(&mut self, hk: &HeaderKey, keys: Vec<(u32, MessageKey)>) {
        if keys.is_empty() {
            return;
        }
        let chain = match self.chains.iter().position(|c| &c.header_key == hk) {
            Some(pos) => &mut self.chains[pos],
            None => {
                self.chains.push_back(SkippedChain {
                    header_key: hk.clone(),
                    keys: BTreeMap::new(),
                });
                let last = self.chains.len() - 1;
                &mut self.chains[last]
            }
        };
        // Cloned in, and `keys` dropped (each key wiped) at the end: moving them out of the Vec
        // would free its buffer with the keys' bytes still in it.
        for (n, mk) in &keys {
            chain.keys.insert(*n, mk.clone());
        }
        while self.chains.len() > MAX_SKIPPED_CHAINS {
            self.chains.pop_front();
        }
        let mut excess = self.len().saturating_sub(MAX_STORED_SKIPPED);
        while excess > 0 {
            let Some(oldest) = self.chains.front_mut() else {
                break;
            };
            if oldest.keys.pop_first().is_some() {
                excess -= 1;
            }
            if oldest.keys.is_empty() {
                self.chains.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(range: core::ops::Range<u32>) -> Vec<(u32, MessageKey)> {
        range.map(|n| (n, MessageKey::new([n as u8; 32]))).collect()
    }

    #[test]
    fn bounded_in_keys_and_chains_oldest_evicted_first() {
        let mut s = SkippedKeys::default();
        let hk: Vec<HeaderKey> = (0..7u8).map(|i| HeaderKey::new([i; 32])).collect();
        s.insert(&hk[0], keys(0..1500));
        s.insert(&hk[1], keys(0..1000));
        assert_eq!(s.len(), MAX_STORED_SKIPPED);
        assert!(s.get(&hk[0], 0).is_none(), "oldest keys go first");
        assert!(s.get(&hk[0], 1499).is_some());
        for k in &hk[2..7] {
            s.insert(k, keys(0..1));
        }
        assert_eq!(s.header_keys().count(), MAX_SKIPPED_CHAINS);
        assert!(s.get(&hk[0], 1499).is_none() && s.get(&hk[1], 999).is_none());
        s.remove(&hk[6], 0);
        assert!(s.get(&hk[6], 0).is_none());
        assert_eq!(s.header_keys().count(), MAX_SKIPPED_CHAINS - 1);
    }
}
