// Real HTTP to a real service: an action can take seconds, not the 1 s
// findBy/waitFor wait by default. While widgets hold the live KPI socket the
// service recomputes the summary every 2 s (KPI_LIVE_INTERVAL of the test
// server) on the same thread that serves the actions, so an action
// sometimes queues behind several of those.
import { configure } from "@testing-library/react-native";

configure({ asyncUtilTimeout: 30000 });
