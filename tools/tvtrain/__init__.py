"""The parts of tools/tv_train.py (torchvision's Faster R-CNN trained with our recipe), one
concern a module; tools/tv_train.py holds the command line and the training loop.

  common    the tool's error exit, log lines, NonFinite, strict JSON reading
  recipe    recipe keys and defaults, --config / --set / flags layering, validation, the
            model config as our trainer resolves it (--model-from, finetune, data classes)
  data      COCO splits as data/coco.cpp reads them (image folder rule, box clipping, fixed
            resize), our loader's epoch order, batches, the DataLoader
  optim     parameter groups, the optimizer, the lr schedule in steps, finite-gradient
            check, gradient norm and clipping
  validate  the eval forward, pred.json, our evaluator (build/bin/eval) and its metrics
  weights   finetune loading, final / best / last state_dicts and flat weight files
  runlog    metrics.jsonl lines, times as h:mm:ss, the charts (build/bin/plot)
  signals   Ctrl-C / SIGTERM: finish the step in the main process, ignored in loader workers

The modules import flatfile and tv_models from tools/, which is on sys.path whenever this
package is importable (tools/tv_train.py and tools/ref/tv_train.py put it there).
"""
