module bench.example/cold253

go 1.21
