{% for line in banner %}# {{ line }}
{% endfor %}#
# OpenROAD-flow-scripts design config of `{{ top }}` on sky130hd. From an ORFS checkout:
#   make -C flow DESIGN_CONFIG=<this package>/flow/config.mk
# Paths are taken relative to this file when ORFS includes it (the last word of MAKEFILE_LIST is
# then this file), so the package works wherever it is unpacked.

ACCELGEN_FLOW_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
ACCELGEN_PACKAGE_DIR := $(abspath $(ACCELGEN_FLOW_DIR)/..)

export PLATFORM = {{ platform }}
export DESIGN_NAME = {{ top }}
export DESIGN_NICKNAME = {{ name }}

# The RTL in filelist order (children first).
export VERILOG_FILES ={% for file in verilog_files %} \
	$(ACCELGEN_PACKAGE_DIR)/{{ file }}{% endfor %}
export SDC_FILE = $(ACCELGEN_FLOW_DIR)/constraint.sdc

# {{ core_utilization }}% of the core area holds standard cells: the PE array is dense datapath
# logic whose neighbour-to-neighbour wiring is short but whose buses are wide, so the rest is left
# to routing, buffering and timing repair (ORFS's sky130hd examples use 30-50%).
export CORE_UTILIZATION = {{ core_utilization }}

{% if macros.is_empty() %}# No SRAM macros: the config maps no buffer to a macro, so there is no ADDITIONAL_LEF or
# ADDITIONAL_LIBS to add.{% else %}# SRAM macros (OpenRAM), placed as hard macros. Their liberties are copies next to this file,
# as flow/synth.ys reads them (`accelgen synth` makes them; by hand: copy them from the PDK). The
# PDK accelgen ships with holds only the liberties: the LEFs come from ORFS's sky130 platform
# (OpenRAM's macros under platforms/sky130ram).
export ADDITIONAL_LIBS ={% for m in macros %} \
	$(ACCELGEN_FLOW_DIR)/{{ m.0 }}{% endfor %}
export ADDITIONAL_LEFS ={% for m in macros %} \
	{{ m.1 }}{% endfor %}{% endif %}
