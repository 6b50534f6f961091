"""The mini world: a zoo of tiny CLIP models trained here, on generated image tasks.

Pretrained weights of real CLIP models cannot be downloaded everywhere, and a CPU cannot profile 48
large models; the mini world is a miniature of the real benchmark in which *everything is real*:
models trained contrastively on image-caption pairs, tasks with class names and prompt templates,
zero-shot ground truth and conductance profiles, all reproducible on 2 CPU cores.

Modules, each one idea (taught in the chapter :ref:`ch-mini-world`):

- :mod:`vlmsel.mini.domains` -- eight image domains, one generator each (digits, text, textures, aerial maps,
  3-D scenes, faces, traffic signs, microscopy): seeded 64x64 pictures with named attributes
- :mod:`vlmsel.mini.tasks` -- the labelled tasks over the domains (LOVM-style class names and templates),
  ``broad`` = ImageNet's role
- :mod:`vlmsel.mini.captions` -- which attributes a caption names; the vocabulary
- :mod:`vlmsel.mini.tokenizer` -- the word-level tokenizer of the text towers
- :mod:`vlmsel.mini.mixtures` -- pretraining mixtures: image-domain proportions, data size, caption quality
- :mod:`vlmsel.mini.zoo` -- which (architecture, mixture) pairs make the zoo
- :mod:`vlmsel.mini.models` -- the architectures (open_clip configs), loading trained models
- :mod:`vlmsel.mini.training` -- the pretraining pool and the contrastive training loop
- :mod:`vlmsel.mini.groundtruth` -- zero-shot accuracy of the zoo on the tasks: the ``mini`` benchmark
- :mod:`vlmsel.mini.realism` -- the world's task-similarity figures beside LOVM's, judged before any method runs
- :mod:`vlmsel.mini.profiling` -- the zoo and tasks as inputs of the ordinary profiling pipeline
- :mod:`vlmsel.mini.paths` -- where the world's files live (its folder, the profile stores, the sweeps)
- :mod:`vlmsel.mini.world` -- registers the benchmark ``mini``, the zoo ``mini`` and its published profile store
  with the core, the way any other world would (the ``vlmsel.worlds`` entry point, :mod:`vlmsel.plugins`)

This package imports nothing on its own, so registering the world stays cheap; import the module you need.
"""
