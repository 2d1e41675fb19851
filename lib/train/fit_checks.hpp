// Internal: what fit() checks once, before any step (and before hashing the data).
#pragma once

#include "nobias/fit.hpp"

namespace nobias::detail {

// ShapeError for shapes that do not fit or no rows; ValueError for bad options, listed rows
// past x's, bad statistics, a NaN or an infinity in the data, or a value the statistics
// standardize past T's range (naming the row of x or y where it lies).
template <class T>
void check_fit(const Network<T>& net, const FitData<T>& data, const FitOptions& options);

}  // namespace nobias::detail
