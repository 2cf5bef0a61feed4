module bench.example/cold207

go 1.21
