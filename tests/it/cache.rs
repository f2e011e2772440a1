//! Cache tiers against real disk and Redis (being written).
