"""Re-make the README's picture of the playground on the shipped models.

    python -m tests.browser.screenshot docs/img/playground.png

Starts a server on models/, fills the playground the way a visitor would (a class-conditional grid of colour emoji, an
interpolation between two classes, a digit drawn for a translator) and saves a 256-colour PNG.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.browser.chrome import start_chrome
from tests.support.server import REPO, running_server


def fill(driver, element_id: str, value: object) -> None:
    element = driver.find_element(By.ID, element_id)
    element.clear()
    element.send_keys(str(value))


def shoot(driver, url: str, out: Path) -> None:
    def wait(condition) -> None:
        WebDriverWait(driver, 30).until(lambda d: condition(d))

    driver.get(url)
    wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#models-table tbody tr"))
    Select(driver.find_element(By.ID, "gen-model")).select_by_value("cgan-emoji")
    Select(driver.find_element(By.ID, "gen-class")).select_by_value("cycle")
    fill(driver, "gen-n", 18)
    fill(driver, "gen-seed", 7)
    driver.find_element(By.ID, "gen-submit").click()
    wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#grid img")) == 18)
    Select(driver.find_element(By.ID, "interp-class-a")).select_by_value("1")
    Select(driver.find_element(By.ID, "interp-class-b")).select_by_value("7")
    fill(driver, "interp-steps", 12)
    driver.find_element(By.ID, "interp-submit").click()
    wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#strip img")) == 12)
    canvas = driver.find_element(By.ID, "tr-canvas")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    (
        ActionChains(driver)
        .move_to_element_with_offset(canvas, -50, -90)
        .click_and_hold()
        .move_by_offset(70, -10)
        .move_by_offset(-10, 60)
        .move_by_offset(-40, 50)
        .move_by_offset(-10, 60)
        .release()
        .perform()
    )  # a "7"
    wait(lambda d: (d.find_element(By.ID, "tr-output-img").get_attribute("src") or "").startswith("data:"))
    driver.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.3)  # let the scroll settle before the capture
    png = out.with_suffix(".raw.png")
    driver.save_screenshot(str(png))
    Image.open(png).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    png.unlink()


def main(out: str) -> None:
    with tempfile.TemporaryDirectory() as tmp, running_server(REPO / "models", log_dir=Path(tmp)) as server:
        driver = start_chrome(Path(tmp) / "profile", window=(1280, 1500))
        try:
            shoot(driver, server.url + "/", Path(out))
        finally:
            driver.quit()


if __name__ == "__main__":
    main(sys.argv[1])
