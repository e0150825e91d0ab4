# Thin front end over CMake.  `make demo` and `make check` are the README's quick start.
BUILD   ?= build
PREFIX  ?= /usr/local
JOBS    ?= $(shell nproc)
CMAKE_FLAGS ?= $(if $(CI),-DWERROR=ON,)

.PHONY: all deps configure build check demo bench install uninstall clean

all: build

deps:
	@tools/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS)

configure: $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j $(JOBS)

check: deps
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_FLAGS)

demo: deps
	$(MAKE) build
	@tools/demo.sh $(BUILD)

bench: deps
	$(MAKE) build
	cmake --build $(BUILD) --target bench -j $(JOBS)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# Removes what the last install recorded, then the folders that are ours alone
# (.../syscall_intercept/), when empty.
uninstall:
	@if [ -f $(BUILD)/install_manifest.txt ]; then xargs -r rm -fv < $(BUILD)/install_manifest.txt; \
	sed -n 's|^\(.*/syscall_intercept\)/.*|\1|p' $(BUILD)/install_manifest.txt | sort -u | \
	while read -r d; do [ -d "$$d" ] && find "$$d" -depth -type d -empty -delete; done; true; \
	else echo "nothing recorded as installed in $(BUILD)/install_manifest.txt"; fi

clean:
	rm -rf $(BUILD)

# The core, processes and log suites on other glibc versions, in cached Debian 11 and 13 roots
# (root; see docs/MATRIX.md).  MATRIX_RELEASES, MATRIX_CACHE, MATRIX_TESTS select what and where.
.PHONY: matrix
matrix:
	@tools/matrix.sh
