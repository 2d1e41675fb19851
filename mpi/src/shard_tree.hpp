// The fixed summation tree of deterministic mode. A batch's S micro-shards are the leaves of a
// binary tree over S2 = the next power of two >= S leaves (leaves >= S are empty); a node is
// left + right (just left when right is empty). The tree depends on S alone, so its root has
// the same bits however the leaves are spread over ranks, as long as every leaf is the same
// call on the same rows.
//
// A rank holding leaves [a, b) computes the largest aligned subtrees inside that range (its
// blocks, at most 2 log2(S2)); the blocks of all ranks, all-gathered in leaf order, tile the
// tree and are merged pairwise, siblings only, into the root.
#pragma once

#include <cstddef>
#include <vector>

namespace nobias::mpi::detail {

struct Node {
  std::size_t lo = 0, size = 1;  // leaves [lo, lo + size); lo is a multiple of size
};

std::size_t tree_leaves(std::size_t shards);  // S2

// The blocks of rank `rank` of `ranks` for S shards: aligned nodes tiling its range, in order.
// The rank holding the last shard also covers the empty leaves [S, S2).
std::vector<Node> blocks_of(std::size_t shards, int rank, int ranks);

// Merges aligned nodes, given in leaf order and tiling [0, S2), into the root, in place:
// values[i] holds node i's sum of `count` elements, or nullptr when the node holds no shard.
// Returns the root's values.
template <class T>
T* merge_blocks(const std::vector<Node>& nodes, std::vector<T*>& values, std::size_t count);

// Computes node's value into out from the leaves: leaf(i, out) writes leaf i's value into
// out. scratch holds one buffer per tree level below node. Returns false for an empty node.
template <class T, class Leaf>
bool compute_node(Node node, std::size_t shards, T* out, std::vector<T*>& scratch,
                  std::size_t depth, std::size_t count, Leaf& leaf) {
  if (node.lo >= shards) return false;
  if (node.size == 1) {
    leaf(node.lo, out);
    return true;
  }
  const std::size_t half = node.size / 2;
  compute_node(Node{node.lo, half}, shards, out, scratch, depth + 1, count, leaf);
  T* right = scratch[depth];
  if (compute_node(Node{node.lo + half, half}, shards, right, scratch, depth + 1, count, leaf)) {
    for (std::size_t i = 0; i < count; ++i)
      out[i] += right[i];
  }
  return true;
}

}  // namespace nobias::mpi::detail
