/* calculator_tool.c — the calculator tool's JSON face over calculator.h. Reentrant. */
#include "tools/calculator.h"
#include "tools/tools_internal.h"

#include <math.h>
#include <string.h>

void tool_calculator_call(const tool_config *cfg, const json_t *args, double deadline,
                          ember_tool_result *res) {
    (void)cfg;
    const char *expr;
    double precision = 0;
    bool has_precision = false;
    if (!tool_arg_string(args, "expression", true, &expr, res) ||
        !tool_arg_number(args, "precision", &precision, &has_precision, res))
        return;
    if (has_precision && (precision != floor(precision) || precision < 1 || precision > CALC_MAX_DIGITS)) {
        tool_result_fail(res, EMBER_ERR_INVALID, "precision must be a whole number of digits from 1 to %d",
                         CALC_MAX_DIGITS);
        return;
    }
    calc_result r;
    char err[256];
    if (!tool_calc_evaluate(expr, strlen(expr), has_precision ? (int)precision : 0, deadline, &r, err,
                       sizeof err)) {
        tool_result_fail(res, strstr(err, "timed out") ? EMBER_ERR_TIMEOUT : EMBER_ERR_INVALID, "%s", err);
        return;
    }
    tool_result_set_output(res, r.text, strlen(r.text));
    tool_result_detail(res, "expression", tool_json_string(expr, strlen(expr)));
    tool_result_detail(res, "exact", r.exact ? json_string(r.exact) : json_null());
    tool_result_detail(res, "decimal", json_string(r.decimal));
    tool_result_detail(res, "approximate", json_boolean(r.approximate));
    tool_calc_result_free(&r);
}
