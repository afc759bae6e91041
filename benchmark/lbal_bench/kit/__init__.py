"""The plugin-author kit: tools the reference plugins use and a third party may.

Nothing in the pipeline (suite → cells → features → selection → evaluation → record)
needs these modules; of the core only ``select`` imports two (``compute.nearest`` for
the distances it reports, ``datafiles.ImageFiles`` for a folder of images). Each
module imports only numpy/faiss at import time; torch and torchvision load lazily
(``imagetraining`` and ``augment`` excepted: they are for torch evaluators).

- ``compute``: K-means (one ``KMeansOptions``), faiss/torch distance kernels, k-NN,
  ``one_blas_thread``.
- ``neighbours``: exact ball pairs and graphs, pruned by bisector bounds between cells.
- ``training``: linear heads on features (numpy on CPU, torch on CUDA), batched heads.
- ``metrics``: top-1 and mean per-class accuracy.
- ``imagetraining``, ``augment``: training networks on images (finetune, FixMatch).
- ``torchvision_backbone``, ``checkpoints``, ``extraction``: ResNets, checkpoint
  layouts (CompRess, MoCo, torchvision), embedding a dataset.
- ``datafiles``: reading and fingerprinting dataset files.
"""
