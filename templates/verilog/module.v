{% for line in banner %}// {{ line }}
{% endfor %}//
{% for line in doc %}// {{ line }}
{% endfor %}
`default_nettype none

module {{ name }} (
{% for port in ports %}    {{ port.direction }} wire {{ port.range|fmt("{:<8}") }} {{ port.name }}{{ port.separator }}{% if !port.comment.is_empty() %}  // {{ port.comment }}{% endif %}
{% endfor %});
{% if !parameters.is_empty() %}
    // What this module was generated for (informational: the RTL is specialised).
    /* verilator lint_off UNUSEDPARAM */
{% for p in parameters %}    localparam integer {{ p.0 }} = {{ p.1 }};
{% endfor %}    /* verilator lint_on UNUSEDPARAM */
{% endif %}{% if !states.is_empty() %}
    // State encodings.
    /* verilator lint_off UNUSEDPARAM */
{% for s in states %}    localparam {{ s.range }} {{ s.name }} = {{ s.value }};
{% endfor %}    /* verilator lint_on UNUSEDPARAM */
{% endif %}{% if !declarations.is_empty() %}
{% for d in declarations %}    {{ d.kind }} {{ d.range|fmt("{:<8}") }} {{ d.name }}{{ d.array }};{% if !d.comment.is_empty() %}  // {{ d.comment }}{% endif %}
{% endfor %}{% endif %}{% if !partial_helpers.is_empty() %}    // Helpers of which only a slice is read (the truncation is intended).
    /* verilator lint_off UNUSEDSIGNAL */
{% for h in partial_helpers %}    wire {{ h.0|fmt("{:<8}") }} {{ h.1 }};
{% endfor %}    /* verilator lint_on UNUSEDSIGNAL */
{% endif %}{% if !assigns.is_empty() %}
{% for a in assigns %}    assign {{ a.0 }} = {{ a.1 }};
{% endfor %}{% endif %}{% if !registers.is_empty() %}
{% endif %}{% for r in registers %}{% if let Some(reset) = r.reset %}    always @(posedge clk) begin
        if (rst) {{ r.name }} <= {{ reset }};
{% if let Some(enable) = r.enable %}        else if ({{ enable }}) {{ r.name }} <= {{ r.next }};
{% else %}        else {{ r.name }} <= {{ r.next }};
{% endif %}    end
{% else %}{% if let Some(enable) = r.enable %}    always @(posedge clk) if ({{ enable }}) {{ r.name }} <= {{ r.next }};
{% else %}    always @(posedge clk) {{ r.name }} <= {{ r.next }};
{% endif %}{% endif %}{% endfor %}{% if !memory_writes.is_empty() %}
{% endif %}{% for w in memory_writes %}    always @(posedge clk) if ({{ w.enable }}) {{ w.memory }}[{{ w.address }}] <= {{ w.data }};
{% endfor %}{% for i in instances %}
    {{ i.module }} {{ i.name }} (
{% for c in i.connections %}        .{{ c.0 }}({{ c.1 }}){{ c.2 }}
{% endfor %}    );
{% endfor %}{% for s in sinks %}
    // Deliberately unused: {{ s.0 }}
    /* verilator lint_off UNUSEDSIGNAL */
    wire {{ s.1 }} = &{1'b0, {{ s.2 }}};
    /* verilator lint_on UNUSEDSIGNAL */
{% endfor %}
endmodule

`default_nettype wire
