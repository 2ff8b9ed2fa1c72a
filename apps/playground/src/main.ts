import "./ui/styles.css";
import { createApp } from "./ui/app.js";

createApp(document.querySelector<HTMLElement>("#app")!);
