"""The two denoisers: a bias-free MLP trained by nobias, and the same MLP with biases trained by
PyTorch, from the same initial weights, on the same rows in the same order, with the same Adam.

A setup says how a patch x reaches the network and how its output becomes the estimate:
  dc        the patch's own mean m = mean(x) is removed first and added back at the end. m is a
            linear function of x, so the denoiser stays positively homogeneous; it takes from the
            network the one thing a bias-free network cannot represent, an offset.
  residual  the network predicts the noise and the estimate is its input minus that (DnCNN).
With z = x - m (or x), the estimate is m + g(z), g(z) = f(z) (direct) or z - f(z) (residual).
No standardization anywhere: centring the data is an additive constant, i.e. a bias, and would
break f(a x) = a f(x) for the bias-free model.
"""
import numpy

DTYPE = numpy.float32


def network_input(noisy, setup):
    """(z, m): what the network sees, and what is added back."""
    if setup["dc"]:
        m = noisy.mean(axis=1, keepdims=True)
        return noisy - m, m
    return noisy, numpy.zeros((len(noisy), 1))


def training_pairs(noisy, clean, setup):
    """(z, target) as float32 rows, the target being what the network must output."""
    z, m = network_input(noisy, setup)
    target = clean - m
    if setup["residual"]:
        target = z - target
    return numpy.ascontiguousarray(z, DTYPE), numpy.ascontiguousarray(target, DTYPE)


def estimate(predict, noisy, setup):
    """The denoised patches, from predict(z) (float32 rows in, rows out)."""
    z, m = network_input(noisy, setup)
    out = numpy.asarray(predict(numpy.ascontiguousarray(z, DTYPE)), dtype=numpy.float64)
    return m + (z - out if setup["residual"] else out)


def widths(setup, side):
    d = side * side
    return [d, *setup["hidden"], d]


def initial_network(setup, side, seed):
    import nobias
    return nobias.Network(widths(setup, side), seed=seed, init="he", dtype=DTYPE)


def train_nobias(net, z, target, recipe, seed):
    import nobias
    optimizer = nobias.Optimizer(net, kind="adam", learning_rate=recipe["learning_rate"])
    reports = nobias.fit(net, optimizer, z, target, epochs=recipe["epochs"],
                         batch_size=recipe["batch_size"], shuffle=True, seed=seed,
                         reduction="mean")
    return reports[-1].train_loss


class TorchMLP:
    """The same widths with a bias on every layer (biases start at zero, so both models start as
    the same function), trained by torch.optim.Adam with PyTorch's defaults, which are nobias's
    (beta1 0.9, beta2 0.999, epsilon 1e-8)."""

    def __init__(self, initial_weights, biases=True):
        import torch
        layers = []
        for k, w in enumerate(initial_weights):
            linear = torch.nn.Linear(w.shape[0], w.shape[1], bias=biases)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(numpy.array(w, DTYPE).T))
                if biases:
                    linear.bias.zero_()
            layers.append(linear)
            if k + 1 < len(initial_weights):
                layers.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers)

    def train(self, z, target, recipe, seed):
        """The epochs of nobias.fit: the rows of epoch e in nobias.shuffled_order(rows, seed, e),
        batches of batch_size (the last one shorter), loss mean of squared errors."""
        import nobias
        import torch
        optimizer = torch.optim.Adam(self.model.parameters(), lr=recipe["learning_rate"])
        x_all, y_all = torch.from_numpy(z), torch.from_numpy(target)
        batch = recipe["batch_size"]
        for epoch in range(1, recipe["epochs"] + 1):
            order = torch.tensor(nobias.shuffled_order(len(z), seed, epoch))
            xs, ys = x_all[order], y_all[order]
            total = 0.0
            for start in range(0, len(z), batch):
                x, y = xs[start:start + batch], ys[start:start + batch]
                optimizer.zero_grad(set_to_none=True)
                loss = torch.nn.functional.mse_loss(self.model(x), y)
                loss.backward()
                optimizer.step()
                total += float(loss) * len(x)
        return total / len(z)

    def predict(self, z):
        import torch
        with torch.no_grad():
            return self.model(torch.from_numpy(z)).numpy()


def denoiser_jacobians(net, noisy, setup):
    """A(x) of each patch, (n, d, d), with estimate(x) = x @ A(x) exactly for the bias-free model:
    A = M + P G, where z = x P (P = I - M, M = 1 1^T / d, when dc; else P = I, M = 0) and
    G = J(z) (direct) or I - J(z) (residual), J from nobias's jacobians. Column k of A holds the
    weights with which the input pixels make output pixel k: the adaptive filter of pixel k."""
    d = noisy.shape[1]
    z, _ = network_input(noisy, setup)
    j = numpy.asarray(net.jacobians(numpy.ascontiguousarray(z, DTYPE)), dtype=numpy.float64)
    g = numpy.eye(d) - j if setup["residual"] else j
    if not setup["dc"]:
        return g
    mean = numpy.full((d, d), 1.0 / d)
    return mean + (numpy.eye(d) - mean) @ g
