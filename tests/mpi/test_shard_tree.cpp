// The fixed summation tree of deterministic mode: blocks of every rank tile the tree, and
// merging them gives the same bits as one rank's sum, for any rank count.
#include <doctest/doctest.h>

#include <vector>

#include "shard_tree.hpp"

using nobias::mpi::detail::blocks_of;
using nobias::mpi::detail::Node;
using nobias::mpi::detail::tree_leaves;

TEST_CASE("mpi.shard_tree.blocks_tile_the_tree_in_order") {
  for (std::size_t shards = 1; shards <= 19; ++shards) {
    for (int ranks = 1; ranks <= 6; ++ranks) {
      CAPTURE(shards);
      CAPTURE(ranks);
      std::size_t next = 0;
      for (int r = 0; r < ranks; ++r) {
        for (const Node& node : blocks_of(shards, r, ranks)) {
          CHECK(node.lo == next);
          CHECK(node.lo % node.size == 0);  // aligned: a node of the tree
          next += node.size;
        }
      }
      CHECK(next == tree_leaves(shards));
    }
  }
}

TEST_CASE("mpi.shard_tree.merge_has_the_same_bits_for_any_rank_count") {
  // Leaves whose sums depend on the order: 1, 1e-8 alternating, in float.
  const std::size_t shards = 11;
  auto leaf = [](std::size_t i, float* out) {
    out[0] = i % 2 ? 1e-8f * float(i) : 1.0f + float(i);
  };
  std::vector<float> expected;
  for (int ranks = 1; ranks <= 5; ++ranks) {
    std::vector<Node> nodes;
    std::vector<float> storage(32, 0.0f), scratch_storage(8, 0.0f);
    std::vector<float*> values, scratch;
    for (float& s : scratch_storage)
      scratch.push_back(&s);
    std::size_t used = 0;
    for (int r = 0; r < ranks; ++r) {
      for (const Node& node : blocks_of(shards, r, ranks)) {
        nodes.push_back(node);
        float* out = &storage[used];
        const bool filled =
            nobias::mpi::detail::compute_node(node, shards, out, scratch, 0, 1, leaf);
        values.push_back(filled ? out : nullptr);
        used += filled ? 1 : 0;
      }
    }
    const float* root = nobias::mpi::detail::merge_blocks(nodes, values, 1);
    if (expected.empty()) expected.push_back(*root);
    CAPTURE(ranks);
    CHECK(*root == expected[0]);
  }
  // The tree: ((((0+1)+(2+3))+((4+5)+(6+7)))+((8+9)+10)), not a left fold.
  float v[11];
  for (std::size_t i = 0; i < 11; ++i)
    leaf(i, &v[i]);
  const float tree =
      (((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]))) + ((v[8] + v[9]) + v[10]);
  CHECK(expected[0] == tree);
}
