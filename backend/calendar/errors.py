"""Holiday calendar errors (codes the back office branches on)."""

from backend.errors import Unprocessable, ValidationFailed


class YearOutOfRange(ValidationFailed):
    code = "year_out_of_range"
    message = "年份应在 2000 至 2100 之间"


class HolidayTableInvalid(Unprocessable):
    """The table is well formed but wrong: ``details.problems`` lists ``{"date", "message"}``."""

    code = "holiday_table_invalid"
    message = "节假日表有误，未保存"
