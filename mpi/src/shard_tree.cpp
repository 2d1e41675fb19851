#include "shard_tree.hpp"

#include "split.hpp"

namespace nobias::mpi::detail {

std::size_t tree_leaves(std::size_t shards) {
  std::size_t leaves = 1;
  while (leaves < shards)
    leaves *= 2;
  return leaves;
}

std::vector<Node> blocks_of(std::size_t shards, int rank, int ranks) {
  const auto [begin, count] =
      piece_range(shards, static_cast<std::size_t>(rank), static_cast<std::size_t>(ranks));
  std::vector<Node> blocks;
  if (count == 0) return blocks;
  const std::size_t leaves = tree_leaves(shards);
  const std::size_t end = begin + count == shards ? leaves : begin + count;
  for (std::size_t lo = begin; lo < end;) {
    std::size_t size = 1;  // the largest aligned node starting at lo that fits
    while (lo % (size * 2) == 0 && lo + size * 2 <= end)
      size *= 2;
    blocks.push_back({lo, size});
    lo += size;
  }
  return blocks;
}

template <class T>
T* merge_blocks(const std::vector<Node>& nodes, std::vector<T*>& values, std::size_t count) {
  std::vector<Node> stack;
  std::vector<T*> stack_values;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    stack.push_back(nodes[i]);
    stack_values.push_back(values[i]);
    // Merge while the top two are siblings: equal size, the lower one a left child.
    while (stack.size() >= 2) {
      const Node right = stack.back(), left = stack[stack.size() - 2];
      if (left.size != right.size || left.lo % (2 * left.size) != 0) break;
      T* r = stack_values.back();
      T* l = stack_values[stack_values.size() - 2];
      if (r != nullptr) {  // the left sibling of a node with shards has shards too
        for (std::size_t j = 0; j < count; ++j)
          l[j] += r[j];
      }
      stack.pop_back();
      stack_values.pop_back();
      stack.back().size *= 2;
    }
  }
  return stack_values.empty() ? nullptr : stack_values.front();
}

template float* merge_blocks<float>(const std::vector<Node>&, std::vector<float*>&, std::size_t);
template double* merge_blocks<double>(const std::vector<Node>&, std::vector<double*>&, std::size_t);

}  // namespace nobias::mpi::detail
