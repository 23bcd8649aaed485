{% for line in banner %}# {{ line }}
{% endfor %}#
# Timing constraints of `{{ top }}`, in plain SDC that both current OpenROAD and Debian's 2019
# OpenSTA read.
#
# One clock, `clk`, at the config's target frequency ({{ frequency_mhz }} MHz). Every other input
# (the synchronous reset `rst` included: `clk` samples it like any data input) and every output is
# constrained against it with an external delay of {{ io_percent }}% of the period: the logic outside
# this block gets that share of the cycle on each side, the first and last register stages inside
# get the rest. Ports are listed by name because the 2019 OpenSTA lacks `all_inputs -no_clocks`.
# No set_load / set_driving_cell: their values belong to the library and the surroundings, which
# the integrating flow knows and this block does not.

create_clock -name clk -period {{ period_ns }}{% if has_clock_port %} [get_ports clk]{% endif %}
{% if !inputs.is_empty() %}set_input_delay {{ io_delay_ns }} -clock clk [get_ports { {{ inputs|join(" ") }} }]
{% endif %}{% if !outputs.is_empty() %}set_output_delay {{ io_delay_ns }} -clock clk [get_ports { {{ outputs|join(" ") }} }]
{% endif %}
