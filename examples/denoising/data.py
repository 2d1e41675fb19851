"""The images, the patches and the noise of the denoising experiment.

Training patches come from scikit-image's sample images (Debian's python3-skimage), test patches
from scikit-learn's two sample photographs (china.jpg, flower.jpg): no test image is ever seen in
training. Intensities are in [0, 1] and noise levels are given on the 0..255 scale, as in the
paper (sigma = 90 means a standard deviation of 90/255).
"""
import numpy

# Natural photographs and textures; the binary (horse), text-only (page, text) and very large
# (retina, hubble_deep_field) images are left out: they would dominate or skew the patch mix.
TRAIN_IMAGES = ("camera", "astronaut", "coffee", "chelsea", "rocket", "coins", "moon", "brick",
                "grass", "gravel", "clock", "immunohistochemistry")


def gray(image):
    """An image as float64 intensities in [0, 1]; colour by the ITU-R 601 luma weights."""
    image = numpy.asarray(image, dtype=numpy.float64)
    if image.ndim == 3:
        image = image[..., :3] @ numpy.array([0.299, 0.587, 0.114])
    return image / 255.0


def train_images():
    import skimage.data
    return [gray(getattr(skimage.data, name)()) for name in TRAIN_IMAGES]


def test_images():
    from sklearn.datasets import load_sample_images
    return [gray(image) for image in load_sample_images().images]


def patches(images, count, side, seed):
    """count patches of side x side pixels, flattened to rows, at positions drawn from seed,
    the same number from every image (so a large image does not outweigh the others)."""
    rng = numpy.random.default_rng(seed)
    rows = []
    for i, image in enumerate(images):
        n = count // len(images) + (1 if i < count % len(images) else 0)
        top = rng.integers(0, image.shape[0] - side + 1, n)
        left = rng.integers(0, image.shape[1] - side + 1, n)
        rows.extend(image[t:t + side, l:l + side].ravel() for t, l in zip(top, left))
    return numpy.array(rows)


def noisy_training_set(clean, sigma_range, copies, seed):
    """(noisy, clean): every clean patch `copies` times, each copy with Gaussian noise of its own
    level drawn uniformly from sigma_range (0..255 scale). Fixed once, so that both models see
    exactly the same rows. The noise has its own stream, [seed, 1]: default_rng(seed) already
    chose the patch positions, and reusing its bits would tie the noise to them."""
    rng = numpy.random.default_rng([seed, 1])
    clean = numpy.repeat(clean, copies, axis=0)
    sigma = rng.uniform(sigma_range[0], sigma_range[1], (len(clean), 1)) / 255.0
    return clean + sigma * rng.standard_normal(clean.shape), clean


def noisy_test_set(clean, sigma, seed):
    """clean plus noise of one level sigma (0..255 scale), drawn from (seed, sigma)."""
    rng = numpy.random.default_rng([seed, int(round(sigma * 1000))])
    return clean + sigma / 255.0 * rng.standard_normal(clean.shape)


def psnr(estimate, clean):
    """Peak signal-to-noise ratio in dB for intensities in [0, 1], over every pixel of the set
    (no clipping of the estimate: a denoiser is judged on what it outputs)."""
    mse = float(numpy.mean((estimate - clean) ** 2))
    return 10.0 * numpy.log10(1.0 / mse)
