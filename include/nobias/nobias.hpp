// Umbrella header: everything a user of nobias needs.
#pragma once

#include "nobias/atomic_file.hpp"
#include "nobias/blas.hpp"
#include "nobias/checkpoint.hpp"
#include "nobias/error.hpp"
#include "nobias/init.hpp"
#include "nobias/kernels.hpp"
#include "nobias/matrix.hpp"
#include "nobias/network.hpp"
#include "nobias/npy.hpp"
#include "nobias/optimizer.hpp"
#include "nobias/train.hpp"
#include "nobias/weights_io.hpp"
