module bench.example/cold197

go 1.21
