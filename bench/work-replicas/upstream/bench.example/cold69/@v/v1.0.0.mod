module bench.example/cold69

go 1.21
