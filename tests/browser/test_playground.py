"""The playground at "/" driven in headless Chromium against a real server on loopback.

    python -m pytest tests/browser -m browser

Needs Debian's `chromium` and `chromium-driver` (/usr/bin/chromium, /usr/bin/chromedriver); skipped otherwise.
Set GANSERVE_SCREENSHOT_DIR to keep the screenshots.
The README picture is re-made by `python -m tests.browser.screenshot docs/img/playground.png`.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.browser

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from tests.client.conftest import API_KEY  # noqa: E402
from tests.support.server import running_server  # noqa: E402


def grid_images(driver):
    return driver.find_elements(By.CSS_SELECTOR, "#grid img")


def wait_for(driver, condition, timeout: float = 15.0):
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(lambda d: condition(d))


def set_value(driver, element_id: str, value: object) -> None:
    element = driver.find_element(By.ID, element_id)
    element.clear()
    element.send_keys(str(value))


def pixel_std(png: bytes) -> float:
    return float(np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float32).std())


def screenshot(driver, name: str, out_dir: Path) -> bytes:
    png = driver.get_screenshot_as_png()
    (out_dir / f"{name}.png").write_bytes(png)
    assert pixel_std(png) > 10, f"screenshot {name} looks blank"
    return png


def generate_grid(driver, seed: int, n: int) -> list[str]:
    """Fill the form, submit, wait for a grid whose first image has `seed`; return the images' data URLs."""
    set_value(driver, "gen-n", n)
    set_value(driver, "gen-seed", seed)
    driver.find_element(By.ID, "gen-submit").click()
    wait_for(driver, lambda d: len(grid_images(d)) == n and grid_images(d)[0].get_attribute("data-seed") == str(seed))
    return [img.get_attribute("src") for img in grid_images(driver)]


def test_playground_end_to_end(chrome, playground_url: str, shots: Path, tmp_path: Path) -> None:
    driver = chrome
    driver.get(playground_url)
    wait_for(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#models-table tbody tr")) == 3)
    table = driver.find_element(By.ID, "models-table").text
    assert "conditional" in table and "translation" in table and "c0, c1" in table and "1×8×8" in table

    # A grid: every image is labelled with its seed; a different seed gives different images.
    Select(driver.find_element(By.ID, "gen-model")).select_by_value("gen")
    first = generate_grid(driver, seed=7, n=8)
    captions = [c.text for c in driver.find_elements(By.CSS_SELECTOR, "#grid figcaption")]
    assert captions == [f"seed {7 + i}" for i in range(8)]
    assert all(src.startswith("data:image/png;base64,") for src in first)
    second = generate_grid(driver, seed=1000, n=8)
    assert not set(first) & set(second), "changing the seed must change every image"

    # Click an image: the viewer shows its seed; reproducing it alone gives the very same bytes.
    grid_images(driver)[2].click()
    viewer = driver.find_element(By.ID, "viewer")
    wait_for(driver, lambda d: viewer.is_displayed())
    assert "seed 1002" in driver.find_element(By.ID, "viewer-caption").text
    assert "/v1/models/gen/images/1002.png" in driver.find_element(By.ID, "viewer-url").text
    driver.find_element(By.ID, "viewer-reproduce").click()
    wait_for(driver, lambda d: len(grid_images(d)) == 1 and grid_images(d)[0].get_attribute("data-seed") == "1002")
    assert grid_images(driver)[0].get_attribute("src") == second[2]

    # A conditional model: one class per image, shown under each image.
    Select(driver.find_element(By.ID, "gen-model")).select_by_value("cgen")
    Select(driver.find_element(By.ID, "gen-class")).select_by_value("cycle")
    generate_grid(driver, seed=3, n=12)
    captions = [c.text for c in driver.find_elements(By.CSS_SELECTOR, "#grid figcaption")]
    assert captions[0] == "seed 3 · class c0" and captions[11] == "seed 14 · class c1"

    # Interpolation between two seeds and two classes, shown as a strip of `steps` images.
    set_value(driver, "interp-seed-a", 11)
    set_value(driver, "interp-seed-b", 12)
    Select(driver.find_element(By.ID, "interp-class-a")).select_by_value("2")
    Select(driver.find_element(By.ID, "interp-class-b")).select_by_value("7")
    set_value(driver, "interp-steps", 6)
    driver.find_element(By.ID, "interp-submit").click()
    wait_for(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#strip img")) == 6)
    strip = [img.get_attribute("src") for img in driver.find_elements(By.CSS_SELECTOR, "#strip img")]
    assert strip[0] != strip[-1]
    assert [c.text for c in driver.find_elements(By.CSS_SELECTOR, "#strip figcaption")][::5] == ["t = 0.00", "t = 1.00"]
    screenshot(driver, "generate", shots)
    assert pixel_std(driver.find_element(By.ID, "grid").screenshot_as_png) > 10

    # The server's error message reaches the page: seed + n - 1 past 2**32 - 1.
    set_value(driver, "gen-seed", 4294967295)
    set_value(driver, "gen-n", 4)
    driver.find_element(By.ID, "gen-submit").click()
    error = driver.find_element(By.ID, "error")
    wait_for(driver, lambda d: error.is_displayed())
    assert "Generating failed" in error.text and "seed" in error.text and "HTTP 422" in error.text

    # Translation: upload an image, then draw on the canvas; input and translation appear side by side.
    Select(driver.find_element(By.ID, "tr-model")).select_by_value("translate")
    upload = tmp_path / "upload.png"
    Image.fromarray((np.indices((28, 28)).sum(0) * 4).astype(np.uint8)).save(upload)
    driver.find_element(By.ID, "tr-file").send_keys(str(upload))
    output = driver.find_element(By.ID, "tr-output-img")
    wait_for(driver, lambda d: (output.get_attribute("src") or "").startswith("data:image/png"))
    after_upload = output.get_attribute("src")
    canvas = driver.find_element(By.ID, "tr-canvas")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    (
        ActionChains(driver)
        .move_to_element_with_offset(canvas, -60, -80)
        .click_and_hold()
        .move_by_offset(60, 40)
        .move_by_offset(40, 60)
        .move_by_offset(-20, 60)
        .release()
        .perform()
    )
    wait_for(driver, lambda d: output.get_attribute("src") != after_upload)
    assert (driver.find_element(By.ID, "tr-input-img").get_attribute("src") or "").startswith("blob:")
    assert not error.is_displayed()
    screenshot(driver, "translate", shots)
    assert pixel_std(canvas.screenshot_as_png) > 10, "the drawn stroke should show on the canvas"


def test_playground_asks_for_the_api_key_and_then_uses_it(chrome, shared_models_dir: Path) -> None:
    driver = chrome
    with running_server(shared_models_dir, {"GANSERVE_API_KEY": API_KEY}) as srv:
        driver.get(srv.url + "/")
        error = driver.find_element(By.ID, "error")
        wait_for(driver, lambda d: error.is_displayed())
        assert "needs an API key" in error.text and "HTTP 401" in error.text
        key = driver.find_element(By.ID, "api-key")
        key.send_keys(API_KEY + "\n")  # Enter commits the field: the models reload with the key
        wait_for(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#models-table tbody tr")) == 3)
        assert not error.is_displayed()
        driver.find_element(By.ID, "gen-random").click()
        seed = int(driver.find_element(By.ID, "gen-seed").get_attribute("value"))
        assert 0 <= seed <= 2**32 - 1 - 16 and seed != 7
        driver.find_element(By.ID, "gen-submit").click()
        wait_for(
            driver, lambda d: len(grid_images(d)) == 16 and grid_images(d)[0].get_attribute("data-seed") == str(seed)
        )
