document.querySelector("#app")!.textContent = "kvpack playground";
