# Two entry points for a fresh machine: `make demo` and `make test`. Everything they need is installed here.
# torch is pinned in the same pip command as reportgen: on this project's machines torch==2.13.0 resolves to
# a CPU wheel, and pinning it stops pip from resolving reportgen's open `torch>=2.1` to a multi-GB CUDA build.
VENV ?= .venv
PYTHON ?= python3
TORCH ?= torch==2.13.0
PIP = $(VENV)/bin/python -m pip
PIP_FLAGS ?= --quiet --disable-pip-version-check

.PHONY: catalogues golden demo test check install install-test browser benchmark benchmark-ferret ferret-venv decompx-venv benchmark-decompx benchmark-alti benchmark-value-zeroing lxt-venv benchmark-attn-lrp

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

install: $(VENV)/bin/python
	$(PIP) install $(PIP_FLAGS) "$(TORCH)" -e .

install-test: $(VENV)/bin/python
	$(PIP) install $(PIP_FLAGS) "$(TORCH)" -e ".[test]"

# Debian's Chromium for the browser tests (Playwright's own browser download cannot work offline).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

demo: install
	$(VENV)/bin/reportgen build

test: browser install-test
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider --durations=25

# The inner loop: unit tests only (a tiny random BERT, no site builds of the real model, no browser).
check: install-test
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider tests/unit

# Compiled with Babel's write_mo rather than `pybabel compile`: that command checks every message with a "%" as a
# Python format string, and "10% of" parses as the "% o" conversion in text no code formats. tests/unit/
# test_catalogue.py checks the named placeholders of every message instead, and that the .mo is this compilation.
define COMPILE
import sys
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
for path in sys.argv[1:]:
    with open(path, "rb") as source:
        catalog = read_po(source)
    with open(path[:-3] + ".mo", "wb") as target:
        write_mo(target, catalog)
endef
export COMPILE

# After adding or changing a message: extract every marked message from the code and templates, merge it into
# each language's .po (reportgen/locale/<locale>/LC_MESSAGES/reportgen.po; translate the new entries there), then
# compile the .mo files the package ships. tests/unit/test_catalogue.py fails on an untranslated message.
catalogues: install-test
	$(VENV)/bin/pybabel -q extract -F babel.cfg -o reportgen/locale/reportgen.pot --sort-by-file --omit-header -w 120 .
	$(VENV)/bin/pybabel -q update -i reportgen/locale/reportgen.pot -d reportgen/locale -D reportgen --no-fuzzy-matching --ignore-obsolete -w 120
	$(VENV)/bin/python -c "$$COMPILE" reportgen/locale/*/LC_MESSAGES/reportgen.po

# After a change meant to change the pages: rebuild tests/golden/ (a tiny fixed build and its pages), then
# review `git diff tests/golden`.
golden: install-test
	$(VENV)/bin/python tests/golden/update.py

benchmark: install-test
	$(VENV)/bin/python benchmarks/ig_vs_captum.py
	$(VENV)/bin/python benchmarks/methods_vs_captum.py
	$(VENV)/bin/python benchmarks/head_ablation.py

# ferret 0.4.2 needs transformers<5 and numpy<2 (and pyarrow<20 for numpy 1), so it gets its own environment.
FERRET_VENV ?= .bench/ferret-venv
$(FERRET_VENV)/bin/python:
	$(PYTHON) -m venv $(FERRET_VENV)
	$(FERRET_VENV)/bin/python -m pip install $(PIP_FLAGS) "$(TORCH)" "transformers<5" "numpy<2" "pyarrow<20" ferret-xai==0.4.2

ferret-venv: $(FERRET_VENV)/bin/python

benchmark-ferret: install-test ferret-venv
	$(VENV)/bin/python benchmarks/vs_ferret.py --ferret-python $(FERRET_VENV)/bin/python

# The DecompX authors' code is a patched modeling_bert.py of transformers 4.18 (their demo's pin); their src/
# folder comes from a checkout of github.com/mohsenfayyaz/DecompX (DECOMPX_SRC). transformers 4.18 is installed
# without its tokenizers pin: the comparison feeds token ids, so no tokenizer runs on that side.
DECOMPX_VENV ?= .bench/decompx-venv
DECOMPX_SRC ?= ../DecompX/src
$(DECOMPX_VENV)/bin/python:
	$(PYTHON) -m venv $(DECOMPX_VENV)
	$(DECOMPX_VENV)/bin/python -m pip install $(PIP_FLAGS) "$(TORCH)" "numpy<2" safetensors filelock regex requests tqdm packaging pyyaml sacremoses "huggingface_hub<0.20"
	$(DECOMPX_VENV)/bin/python -m pip install $(PIP_FLAGS) --no-deps transformers==4.18.0

decompx-venv: $(DECOMPX_VENV)/bin/python

benchmark-decompx: install-test decompx-venv
	$(VENV)/bin/python benchmarks/vs_decompx.py --decompx-src $(DECOMPX_SRC) --python $(DECOMPX_VENV)/bin/python

# ALTI's authors' code (github.com/mt-upc/transformer-contributions, ALTI_SRC: the repository root) runs in the
# test environment: it needs torch, transformers and captum.
ALTI_SRC ?= ../transformer-contributions
benchmark-alti: install-test
	$(VENV)/bin/python benchmarks/vs_alti.py --alti-src $(ALTI_SRC)

# Value zeroing's authors' code (github.com/hmohebbi/ValueZeroing, VZ_ROOT: the repository root) is a patched
# modeling_bert.py of transformers 4.15; the DecompX environment runs it, with scikit-learn for its distances.
VZ_ROOT ?= ../ValueZeroing
benchmark-value-zeroing: install-test decompx-venv
	$(DECOMPX_VENV)/bin/python -m pip install $(PIP_FLAGS) scikit-learn
	$(VENV)/bin/python benchmarks/vs_value_zeroing.py --vz-root $(VZ_ROOT) --python $(DECOMPX_VENV)/bin/python

# AttnLRP's authors' code (lxt 2.1) patches a copy of transformers 4.51's modeling_bert.py, so it gets its own
# environment; lxt's optional dependencies (bitsandbytes, open_clip, zennit, torchvision) are left out, since only
# its BERT module and rules are loaded.
LXT_VENV ?= .bench/lxt-venv
$(LXT_VENV)/bin/python:
	$(PYTHON) -m venv $(LXT_VENV)
	$(LXT_VENV)/bin/python -m pip install $(PIP_FLAGS) "$(TORCH)" "numpy<3" safetensors transformers==4.51.3
	$(LXT_VENV)/bin/python -m pip install $(PIP_FLAGS) --no-deps lxt==2.1

lxt-venv: $(LXT_VENV)/bin/python

benchmark-attn-lrp: install-test lxt-venv
	$(VENV)/bin/python benchmarks/vs_attn_lrp.py --python $(LXT_VENV)/bin/python
