{% for line in banner %}/* {{ line }} */
{% endfor %}
/*
 * Configuration of the `{{ top }}` accelerator, for its driver. Every name starts with
 * {{ prefix }}_ so that headers of several accelerators can be included together.
 */

#ifndef {{ guard }}
#define {{ guard }}

/* The config this header was generated from (first 16 hex digits of its SHA-256). */
#define {{ prefix }}_CONFIG_HASH "{{ config_hash }}"

/* Target clock: {{ frequency_mhz }} MHz. */
#define {{ prefix }}_CLOCK_HZ {{ clock_hz }}UL
#define {{ prefix }}_CLOCK_PERIOD_PS {{ period_ps }}UL

/* PE array: {{ rows }} x {{ cols }} processing elements, one MAC each per cycle. */
#define {{ prefix }}_ARRAY_ROWS {{ rows }}U
#define {{ prefix }}_ARRAY_COLS {{ cols }}U
#define {{ prefix }}_PE_COUNT {{ pe_count }}U

/* Dataflow: {{ dataflow_name }}. Codes: 0 weight-, 1 output-, 2 input-, 3 row-stationary. */
#define {{ prefix }}_DATAFLOW {{ dataflow_code }}U
#define {{ prefix }}_DATAFLOW_NAME "{{ dataflow_name }}"

/* Operand formats: width in bits; SIGNED is 1 for two's complement, 0 for unsigned. */
#define {{ prefix }}_ACT_BITS {{ act_bits }}U
#define {{ prefix }}_ACT_SIGNED {{ act_signed }}
#define {{ prefix }}_WEIGHT_BITS {{ weight_bits }}U
#define {{ prefix }}_WEIGHT_SIGNED {{ weight_signed }}

/* Accumulator width in bits (always signed). */
#define {{ prefix }}_ACC_BITS {{ acc_bits }}U

/* PE kind: BIT_SERIAL is 1 when the PEs take activations a bit at a time: Stripes (the
 * ACT_PRECISION register is there; a run takes that many cycles per array step, 1..ACT_BITS) or
 * Bit-Pragmatic (a brick takes its busiest activation's one-bits); 0 for parallel multipliers. */
#define {{ prefix }}_PE_BIT_SERIAL {{ bit_serial }}

{% if registers.is_empty() %}/*
 * CSR map: none. This accelerator exposes its PE array's streams directly as top-level ports and
 * has no register block; a config with a `buffers:` section adds the core and its AXI4-Lite CSRs.
 */
{% else %}/* AXI4-Lite register map (byte offsets on s_axil_*; every register is 32 bits). */
{% for (name, offset, doc) in registers %}#define {{ prefix }}_REG_{{ name }} {{ offset }}U /* {{ doc }} */
{% endfor %}
/* Register bits and buffer geometry. */
{% for (name, value, doc) in core_constants %}#define {{ prefix }}_{{ name }} {{ value }} /* {{ doc }} */
{% endfor %}{% endif %}
#endif /* {{ guard }} */
