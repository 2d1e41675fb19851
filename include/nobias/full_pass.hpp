// Passes over every row of a data set whose memory does not grow with rows x widths: the rows
// go through the network in blocks (two blocks of the widest layer per thread), on the step's
// threads, with the same bits as Network::loss over every row at once. A loss, and
// predict_windows, hold about two blocks of predictions per thread, never those of every row.
#pragma once

#include <cstddef>
#include <functional>

#include "nobias/matrix.hpp"
#include "nobias/network.hpp"
#include "nobias/row_source.hpp"

namespace nobias {

// net.loss(x, y, reduction), bit for bit, with its refusals; for more rows than one block, in
// blocks (net's workspace is left as it was).
template <class T>
double full_loss(Network<T>& net, MatrixView<const T> x, MatrixView<const T> y,
                 Reduction reduction = Reduction::Sum);

// The same over a source's rows as training reads them (its rows, standardized), bit for bit
// as over a copy of them, without one: x and y are read a window of rows at a time.
template <class T>
double full_loss(Network<T>& net, const RowSource<T>& rows, Reduction reduction = Reduction::Sum);

// net.predict over a source's x rows as training reads them (standardized), bit for bit as over
// a copy of them, without one: x is read a block at a time.
template <class T>
Matrix<T> full_predict(const Network<T>& net, const RowSource<T>& rows);

// The same predictions, bit for bit, handed to sink(first row, its rows' outputs) a window of
// rows at a time, in row order, never all at once: for scores of many outputs over many rows.
// The view is valid during the call only (sink may change it in place). ValueError for no sink.
template <class T>
void predict_windows(const Network<T>& net, const RowSource<T>& rows,
                     const std::function<void(std::size_t, MatrixView<T>)>& sink);

}  // namespace nobias
