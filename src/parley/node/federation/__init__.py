"""Federation: pinned peers, the peer client, pull, push, witnessing, gossip, mirrors, restore."""
