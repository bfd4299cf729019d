/* The login form: password and TOTP code to POST /api/v1/session, then the page asked for. */
"use strict";

(() => {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const data = new FormData(form);
    try {
      await Parley.api("POST", "/session", {
        name: data.get("name"), password: data.get("password"), totp: data.get("totp"),
      });
      window.location.assign(form.dataset.next || "/");
    } catch (failure) {
      error.textContent = failure.status === 429 ? Parley.page.busy : Parley.page.bad;
      error.hidden = false;
      document.getElementById("totp").value = "";
    }
  });
})();
